package pipelines

import (
	"math/big"
	"math/bits"
	"strings"
)

// Decimal128 is an exact decimal number of up to 38 digits: the 128-bit
// two's-complement integer Hi<<64 | Lo, times 10^-scale, where the scale is
// the column's. Columns of precision above 18 hold their values as
// Decimal128 (they accept Decimal too).
type Decimal128 struct {
	Hi int64
	Lo uint64
}

// Decimal128Of widens an int64 unscaled value.
func Decimal128Of(v int64) Decimal128 {
	hi := int64(0)
	if v < 0 {
		hi = -1
	}
	return Decimal128{Hi: hi, Lo: uint64(v)}
}

// Neg returns -d.
func (d Decimal128) Neg() Decimal128 {
	lo, borrow := bits.Sub64(0, d.Lo, 0)
	hi, _ := bits.Sub64(0, uint64(d.Hi), borrow)
	return Decimal128{Hi: int64(hi), Lo: lo}
}

// Big returns the unscaled value as a big.Int.
func (d Decimal128) Big() *big.Int {
	neg := d.Hi < 0
	if neg {
		d = d.Neg()
	}
	v := new(big.Int).SetUint64(uint64(d.Hi))
	v.Lsh(v, 64)
	v.Or(v, new(big.Int).SetUint64(d.Lo))
	if neg {
		v.Neg(v)
	}
	return v
}

// Decimal128FromBig converts an unscaled big.Int; ok is false when it does
// not fit 127 bits.
func Decimal128FromBig(v *big.Int) (d Decimal128, ok bool) {
	if v.BitLen() > 127 {
		return Decimal128{}, false
	}
	a := new(big.Int).Abs(v)
	lo := new(big.Int).And(a, new(big.Int).SetUint64(^uint64(0))).Uint64()
	hi := new(big.Int).Rsh(a, 64).Uint64()
	d = Decimal128{Hi: int64(hi), Lo: lo}
	if v.Sign() < 0 {
		d = d.Neg()
	}
	return d, true
}

// Text formats the value with the given scale, e.g. -1234.50.
func (d Decimal128) Text(scale int) string { return FormatUnscaled(d.Big().String(), scale) }

// Text formats the value with the given scale, e.g. -1234.50.
func (d Decimal) Text(scale int) string {
	return FormatUnscaled(big.NewInt(d.Unscaled).String(), scale)
}

// FormatUnscaled places the decimal point scale digits from the right of
// an unscaled integer written in decimal.
func FormatUnscaled(digits string, scale int) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}
