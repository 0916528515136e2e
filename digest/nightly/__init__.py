"""The nightly digest: friend events, hydration, the pure stages (select, build, render, MIME)
and the pipeline that runs them over a chunk of subscriptions."""
