// Package clv fits the customer-lifetime-value models the warehouse
// stores, in plain Go: BG/NBD for the number of purchases (Fader, Hardie &
// Lee 2005, "Counting your customers the easy way") and Gamma-Gamma for
// their value (Fader, Hardie & Lee 2005, "RFM and CLV"), with CLV as the
// discounted sum of expected monthly purchases times expected spend times
// margin, and a calibration/holdout check of every fit.
//
// A caller (the warehouse build, `crmwh clv fit`) computes one Summary per
// customer (frequency x in repeat purchase days, recency t_x, age T, mean
// repeat value; the translog subpackage reads them from DuckDB), groups
// them with GroupSummaries, fits with FitBGNBD and FitGammaGamma, scores
// with Model.Score and checks the fit with Validate. A fit that does not
// converge returns its Diagnostics and an error wrapping ErrNotConverged,
// so the caller can keep the previous good parameters.
//
// docs/clv.md has the formulas and the numerical methods.
package clv
