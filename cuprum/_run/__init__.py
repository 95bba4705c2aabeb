"""One run of commands: from a request to a result.

`request` checks a run's keywords (with `env`, the environment overlays,
and `argv`, a command's arguments); `wiring` plans the stages, pipes and
each stage's ends (`fdio`); `child` spawns and reaps one stage; `run` is
the run itself, acting in callbacks on a reactor, with `termination`
deciding whom to signal and whom to blame; `drive` drives a run to its end
awaited or on this thread; `output` streams a run's output (cut into lines
by `lines`); `observer` tells the observe hooks what happened. Builds on
`cuprum._pumps`.
"""
