"""What a run meets on its way in and out: the scopes' side of a run.

`scope` is the execution context as a value and the one in force;
`registrations` are the handles that change it until detached;
`admission` checks a run against it (allowlist, before hooks), builds
its request and observer, and runs the after hooks;
`handles` is the undo of every registration (a ``ContextVar`` change a
handle's ``detach()`` reverts). The public faces are `cuprum.context`,
`cuprum.events` and `cuprum.adapters`.
"""
