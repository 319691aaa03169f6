"""Reports: scores by period and group, with margins of error, and the funnel."""
