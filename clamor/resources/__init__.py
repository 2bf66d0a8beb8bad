"""Plan §5 resources: information-collection tools, communication channels, legal support, and
training sessions with attendance."""
