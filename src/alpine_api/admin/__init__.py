"""Admin dashboards: user analytics and revenue, one SQL statement each."""
