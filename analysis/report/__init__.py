"""Channel report: tables (CSV, Markdown), figures and a self-contained HTML page."""
