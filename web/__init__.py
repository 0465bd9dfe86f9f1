"""The web console: static pages and their npm-installed assets, served by the app."""
