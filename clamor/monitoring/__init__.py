"""Public-opinion monitoring (舆情监测): sources, watch queries, the detection stage's stored
results (posts, topics, alerts), the monitoring pages and API."""
