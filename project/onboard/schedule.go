package onboard

// NightlySchedule is the schedule a proposed project comes with:
// schedules/nightly.yaml, which names no time zone (the project's applies)
// and no source (every stream is extracted).
const NightlySchedule = `# Every night at 02:30 in the project's time zone (crmwh.yaml's timezone):
# load what is new from every source, rebuild the warehouse and render the
# dashboards. Every key is described in docs/schedules.md.
name: nightly
description: Whole warehouse, every night
cron: "30 2 * * *"
# The build runs the data tests and publishes only when the error-level
# ones pass.
steps: [extract, build, dashboards]
timeout: 2h
lock_wait: 10m
retries:
  max: 2
  backoff: 5m
  max_backoff: 30m
# A night missed while the scheduler was down runs once when it starts.
missed: run_once
enabled: true
notify:
  # The chat or paging webhook's URL is a secret: it is read from this
  # environment variable, and nothing is sent when it is unset.
  webhook_env: CRMWH_ALERT_WEBHOOK
`
