"""What operators watch: Prometheus metrics, structured logs, request ids.

`metrics` holds the metric objects and the small functions other code calls
to record what happened; `readings` the figures of shared state read at
scrape time (broadcasts sending, a worker's last read of the task stream);
`task_metrics` the Taskiq middleware that counts and times every task;
`logging` configures structured, redacted logs for every process; `requests`
is the ASGI middleware that gives each HTTP request its id, its log line and
its duration; `tasks` gives each Taskiq task run the request id that caused
it; `error_tracking` reports unhandled errors to Sentry when SENTRY_DSN is
set, without the personal data `error_scrubbing` removes. Nothing here
imports the domain's services: the transports call in, not the other way
round. The dashboard and the alerts built on these figures are in `deploy/`
(docs/operations.md, "Monitoring and alerts").
"""
