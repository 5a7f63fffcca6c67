-- PLACEHOLDER, written on the dashboards branch (issue 6) so that the
-- dashboards can be rendered and tested end to end before the analytics
-- work lands: the agreed columns of mart_clv_model, one row per parameter
-- of the BG/NBD and Gamma-Gamma models, with no fitted values (the models
-- are not fitted here). Replace with the real mart when merging.
select
    v.model,
    v.parameter,
    cast(null as double) as value,
    cast(null as double) as std_error,
    cast(null as double) as ci_low,
    cast(null as double) as ci_high,
    cast(null as double) as log_likelihood,
    false as converged,
    (select count(*) from customer_purchases) as customers,
    cast(null as timestamptz) as fitted_at,
    false as in_use
from (values ('bgnbd', 'r', 1), ('bgnbd', 'alpha', 2), ('bgnbd', 'a', 3), ('bgnbd', 'b', 4),
    ('gamma_gamma', 'p', 5), ('gamma_gamma', 'q', 6), ('gamma_gamma', 'gamma', 7)) v(model, parameter, ord)
order by v.ord
