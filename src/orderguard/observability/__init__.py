"""What an operator watches: structured logs (`logs`), Prometheus metrics (`metrics`), and the
progress of long commands on stderr (`progress`)."""
