"""Site configuration: the MoonTV ``config.json`` file and the stored AdminConfig document."""
