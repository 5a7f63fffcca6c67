package clv

// trigamma returns ψ'(x) for x > 0: the recurrence ψ'(x) = ψ'(x+1) + 1/x²
// up to x ≥ 10, then the asymptotic series
// 1/x + 1/(2x²) + Σ B_2k / x^(2k+1), accurate to about 1e-15 there.
func trigamma(x float64) float64 {
	var acc float64
	for x < 10 {
		acc += 1 / (x * x)
		x++
	}
	x2 := 1 / (x * x)
	// Bernoulli numbers B2..B12: 1/6, −1/30, 1/42, −1/30, 5/66, −691/2730.
	s := 1/x + x2/2 + (1.0/6+x2*(-1.0/30+x2*(1.0/42+x2*(-1.0/30+x2*(5.0/66-x2*691.0/2730)))))*x2/x
	return acc + s
}
