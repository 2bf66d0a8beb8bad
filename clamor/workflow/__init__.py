"""Workflow rules: the contingency plan as pure state machines, SLA arithmetic, business calendar.

Nothing in this package touches the database, the network or the clock: services pass in the
current state, the actor's permissions, the submitted fields and `now`, and get values back.
"""
