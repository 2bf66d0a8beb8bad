"""The organisation of plan §3: departments, people, groups and their roles and duties."""
