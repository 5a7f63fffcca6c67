// Package analytics holds the Go build steps behind the value and retention
// marts: the settings table that carries crmwh.yaml's analytics definitions
// into SQL, and the CLV model fit and scoring.
package analytics

import (
	"context"
	"database/sql"
	"fmt"

	"crmwh/warehouse/build"
)

// Settings are the analytics definitions from crmwh.yaml.
type Settings struct {
	Currency            string
	Timezone            string
	TimeUnit            string // day or week
	HoldoutDays         int
	HorizonMonths       int
	MonthlyDiscountRate float64
	Margin              float64
	ChurnDefinition     string // inactivity or p_alive
	InactivityDays      int
	PAliveThreshold     float64
	// MatchKey, MatchEmail and MatchPhone switch identity rules on
	// (crmwh.yaml identity.match); PhoneFormat is digits or cn.
	MatchKey, MatchEmail, MatchPhone bool
	PhoneFormat                      string
	// CLVOff skips the CLV models (crmwh.yaml analytics.clv: off): the
	// CLV tables are written with NULL predictions and say why.
	CLVOff bool
	// RefitDays and RefitDrift say when the CLV models are fitted again
	// (crmwh.yaml analytics.clv_refit_days, analytics.clv_refit_drift):
	// after this many days of new data, or when the repeat purchases since
	// the fit differ from its expectation by more than this share. Zero
	// means DefaultRefitDays, DefaultRefitDrift.
	RefitDays  int
	RefitDrift float64
	// CrossSell holds the cross-sell definitions (crosssell.go).
	CrossSell CrossSell
	// ContractPeriod is the period contracts renew at, month or year
	// (crmwh.yaml analytics.contract_period; contracts.go).
	ContractPeriod string
}

// SettingsTable is the one-row table the settings step writes; models read
// their definitions from it, so an analyst pasting a model into DuckDB on
// the published warehouse gets the same numbers.
const SettingsTable = "analytics_settings"

// Fingerprint identifies the settings: a build runs the steps that use
// them again when they change.
func (s Settings) Fingerprint() string { return fmt.Sprintf("%+v", s) }

// SettingsStep writes SettingsTable.
func SettingsStep(s Settings) build.Step {
	return build.Step{
		Name:        "settings",
		Writes:      []string{SettingsTable},
		Fingerprint: s.Fingerprint(),
		Run: func(ctx context.Context, conn *sql.Conn) (int64, error) {
			_, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE analytics_settings AS SELECT
				CAST(? AS VARCHAR) AS currency, CAST(? AS VARCHAR) AS timezone, CAST(? AS VARCHAR) AS time_unit,
				CAST(? AS INTEGER) AS holdout_days, CAST(? AS INTEGER) AS horizon_months,
				CAST(? AS DOUBLE) AS monthly_discount_rate, CAST(? AS DOUBLE) AS margin,
				CAST(? AS VARCHAR) AS churn_definition, CAST(? AS INTEGER) AS inactivity_days, CAST(? AS DOUBLE) AS p_alive_threshold,
				CAST(? AS BOOLEAN) AS match_key, CAST(? AS BOOLEAN) AS match_email, CAST(? AS BOOLEAN) AS match_phone,
				CAST(? AS VARCHAR) AS phone_format,
				CAST(? AS INTEGER) AS cross_sell_window_days, CAST(? AS INTEGER) AS cross_sell_min_pair_baskets,
				CAST(? AS DOUBLE) AS cross_sell_min_support, CAST(? AS DOUBLE) AS cross_sell_min_confidence,
				CAST(? AS INTEGER) AS cross_sell_holdout_days, CAST(? AS INTEGER) AS cross_sell_refit_days`,
				s.Currency, s.Timezone, s.TimeUnit, s.HoldoutDays, s.HorizonMonths, s.MonthlyDiscountRate, s.Margin,
				s.ChurnDefinition, s.InactivityDays, s.PAliveThreshold, s.MatchKey, s.MatchEmail, s.MatchPhone, s.PhoneFormat,
				s.CrossSell.WindowDays, s.CrossSell.MinPairBaskets, s.CrossSell.MinSupport, s.CrossSell.MinConfidence, s.CrossSell.HoldoutDays,
				s.crossSellRefitDays())
			return 1, err
		},
	}
}
