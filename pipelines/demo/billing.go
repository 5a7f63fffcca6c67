package demo

import (
	"bytes"
	"strconv"
)

// row collects the fields of one CSV row before it is encoded.
type row struct {
	buf   []byte
	ends  []int
	quote uint32 // fields always quoted (legacy amounts)
	raw   uint32 // fields written as they are, even with quotes (dirt)
}

func (rw *row) reset() {
	rw.buf, rw.ends, rw.quote, rw.raw = rw.buf[:0], rw.ends[:0], 0, 0
}

func (rw *row) end()         { rw.ends = append(rw.ends, len(rw.buf)) }
func (rw *row) str(s string) { rw.buf = append(rw.buf, s...); rw.end() }
func (rw *row) int(v int64)  { rw.buf = strconv.AppendInt(rw.buf, v, 10); rw.end() }
func (rw *row) n() int       { return len(rw.ends) }
func (rw *row) field(i int) []byte {
	start := 0
	if i > 0 {
		start = rw.ends[i-1]
	}
	return rw.buf[start:rw.ends[i]]
}

// amount adds money in fen: 1234.50, or "1,234.50" in the legacy style.
func (rw *row) amount(fen int64, legacy bool) {
	if legacy {
		rw.quote |= 1 << len(rw.ends)
	}
	rw.buf = appendAmount(rw.buf, fen, legacy)
	rw.end()
}

func appendAmount(b []byte, fen int64, thousands bool) []byte {
	if fen < 0 {
		b = append(b, '-')
		fen = -fen
	}
	whole, frac := fen/100, fen%100
	if thousands {
		var tmp [20]byte
		s := strconv.AppendInt(tmp[:0], whole, 10)
		for k, c := range s {
			if k > 0 && (len(s)-k)%3 == 0 {
				b = append(b, ',')
			}
			b = append(b, c)
		}
	} else {
		b = strconv.AppendInt(b, whole, 10)
	}
	return append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// appendCSV encodes the row (without a line end), quoting as RFC 4180 asks.
func (rw *row) appendCSV(dst []byte) []byte {
	for i := range rw.ends {
		if i > 0 {
			dst = append(dst, ',')
		}
		f := rw.field(i)
		switch {
		case rw.raw&(1<<i) != 0:
			dst = append(dst, f...)
		case rw.quote&(1<<i) != 0 || bytes.ContainsAny(f, ",\"\r\n"):
			dst = append(dst, '"')
			for _, c := range f {
				if c == '"' {
					dst = append(dst, '"')
				}
				dst = append(dst, c)
			}
			dst = append(dst, '"')
		default:
			dst = append(dst, f...)
		}
	}
	return dst
}

// Field positions used by the dirt.
const (
	colOrderTime = 5
	colGross     = 9
	colNet       = 11
	colUnitPrice = 6
	colLineAmt   = 8
)

// emit writes g.row to a file, sometimes preceded by a malformed copy (an
// export retry that went wrong). The good row always follows, so the
// well-formed rows alone hold every order.
func (g *gen) emit(file int32, isOrder bool, amountFen int64, at int64) {
	ck := g.ck
	if g.w.o.BadRowRate > 0 && g.r.Float64() < g.w.o.BadRowRate {
		kind := g.malformed(isOrder, amountFen, at, g.w.files.legacy[file])
		ck.data = g.bad.appendCSV(ck.data)
		ck.rows = append(ck.rows, outRow{file: file, bad: kind, end: int32(len(ck.data))})
		ck.stats.malformed++
	}
	ck.data = g.row.appendCSV(ck.data)
	ck.rows = append(ck.rows, outRow{file: file, end: int32(len(ck.data))})
}

// malformed fills g.bad with a broken copy of g.row and returns its kind.
func (g *gen) malformed(isOrder bool, amountFen int64, at int64, legacy bool) uint8 {
	r, src, dst := g.r, &g.row, &g.bad
	kinds := 3
	if isOrder {
		kinds = 4
	}
	kind := uint8(1 + r.IntN(kinds))
	n := src.n()
	amountCol := colLineAmt
	if isOrder {
		amountCol = colNet
	}
	dst.reset()
	copyField := func(i int) {
		dst.buf = append(dst.buf, src.field(i)...)
		if src.quote&(1<<i) != 0 {
			dst.quote |= 1 << len(dst.ends)
		}
		dst.end()
	}
	switch kind {
	case badFieldCount:
		if r.IntN(2) == 0 {
			// Cut short, as by a write that stopped half way.
			for i := range 3 + r.IntN(n-4) {
				copyField(i)
			}
		} else {
			// One field too many.
			extra := 1 + r.IntN(n-1)
			for i := range n {
				if i == extra {
					copyField(i - 1)
				}
				copyField(i)
			}
		}
	case badQuote:
		// A stray quote inside an unquoted amount: strict readers reject
		// the row, lenient ones read a value that is not a number; either
		// way the row stays on its line.
		for i := range n {
			if i != amountCol {
				copyField(i)
				continue
			}
			v := appendAmount(g.tmp[:0], amountFen, false)
			k := 1 + r.IntN(len(v)-1)
			dst.buf = append(dst.buf, v[:k]...)
			dst.buf = append(dst.buf, '"')
			dst.buf = append(dst.buf, v[k:]...)
			dst.raw |= 1 << len(dst.ends)
			dst.end()
		}
	case badAmount:
		col := amountCol
		if isOrder && r.IntN(2) == 0 {
			col = colGross
		} else if !isOrder && r.IntN(2) == 0 {
			col = colUnitPrice
		}
		for i := range n {
			if i != col {
				copyField(i)
				continue
			}
			switch r.IntN(3) {
			case 0:
				dst.buf = append(dst.buf, "N/A"...)
			case 1:
				dst.buf = append(dst.buf, "#VALUE!"...)
			default:
				// A digit typed as a letter.
				v := src.field(i)
				k := r.IntN(len(v))
				for v[k] < '0' || v[k] > '9' {
					k = (k + 1) % len(v)
				}
				dst.buf = append(dst.buf, v[:k]...)
				dst.buf = append(dst.buf, "OlIS"[r.IntN(4)])
				dst.buf = append(dst.buf, v[k+1:]...)
				if src.quote&(1<<i) != 0 {
					dst.quote |= 1 << len(dst.ends)
				}
			}
			dst.end()
		}
	case badDate:
		for i := range n {
			if i != colOrderTime {
				copyField(i)
				continue
			}
			dst.buf = g.impossibleTime(dst.buf, at, legacy, src.field(i))
			dst.end()
		}
	}
	return kind
}

// impossibleTime writes a timestamp no calendar has: month 13, 30 February
// or hour 25.
func (g *gen) impossibleTime(b []byte, at int64, legacy bool, good []byte) []byte {
	clk := g.w.clk
	d := clk.day(at)
	iso := clk.iso[d+1]
	kind := g.r.IntN(3)
	if !legacy {
		start := len(b)
		b = append(b, good...)
		s := b[start:]
		switch kind {
		case 0:
			copy(s[5:7], "13")
		case 1:
			copy(s[5:10], "02-30")
		default:
			copy(s[11:13], "25")
		}
		return b
	}
	y := iso[0:4]
	m, _ := strconv.Atoi(string(iso[5:7]))
	day, _ := strconv.Atoi(string(iso[8:10]))
	switch kind {
	case 0:
		m = 13
	case 1:
		m, day = 2, 30
	}
	b = append(b, y...)
	b = append(b, "年"...)
	b = strconv.AppendInt(b, int64(m), 10)
	b = append(b, "月"...)
	b = strconv.AppendInt(b, int64(day), 10)
	b = append(b, "日 "...)
	sod := at - int64(d)*daySec
	if kind == 2 {
		sod = 25*3600 + sod%3600
		return append(b, '2', '5', ':', byte('0'+sod%3600/60/10), byte('0'+sod%3600/60%10), ':', byte('0'+sod%60/10), byte('0'+sod%60%10))
	}
	return appendClock(b, sod)
}

// emitOrder writes one order row to the day's orders file.
func (g *gen) emitOrder(oid string, rec *billRec, id identity, ship int, at int64, status int, gross, disc, net int64, orig string) {
	w, clk, rw := g.w, g.w.clk, &g.row
	day := clk.day(at)
	legacy := w.legacy[day]
	rw.reset()
	rw.str(oid)
	rw.str(rec.no)
	switch {
	case legacy && id.corporate:
		rw.str(id.companyZh)
	case legacy:
		rw.str(id.nameZh)
	case id.corporate:
		rw.str(id.companyEn)
	default:
		rw.str(id.namePy)
	}
	rw.str(rec.email)
	rw.str(rec.phone)
	switch {
	case legacy:
		rw.buf = clk.appendLegacy(rw.buf, at)
	case g.r.Float64() < w.o.UTCRate:
		rw.buf = clk.appendUTC(rw.buf, at)
	default:
		rw.buf = clk.appendLocal(rw.buf, at)
	}
	rw.end()
	if legacy {
		rw.str(statusLegacy[status])
		rw.str(cities[ship].zh)
	} else {
		rw.str(statusModern[status])
		rw.str(cities[ship].en)
	}
	rw.str("CNY")
	rw.amount(gross, legacy)
	rw.amount(disc, legacy)
	rw.amount(net, legacy)
	rw.str(orig)
	g.emit(w.files.orders(day), true, net, at)
}

// emitLines writes an order's lines to the day's order-lines file.
func (g *gen) emitLines(oid string, at int64, lines []orderLine) {
	w, rw := g.w, &g.row
	day := w.clk.day(at)
	legacy := w.legacy[day]
	file := w.files.lines(day)
	for k, l := range lines {
		p := &products[l.prod]
		rw.reset()
		rw.str(oid)
		rw.int(int64(k + 1))
		rw.str(p.code)
		if legacy {
			rw.str(p.zh)
			rw.str(categories[p.category].zh)
		} else {
			rw.str(p.en)
			rw.str(categories[p.category].en)
		}
		rw.int(l.qty)
		rw.amount(l.unit, legacy)
		rw.amount(l.disc, legacy)
		rw.amount(l.amount, legacy)
		g.emit(file, false, l.amount, at)
		g.ck.stats.lines++
	}
}
