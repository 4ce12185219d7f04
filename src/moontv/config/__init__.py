"""Site configuration: the MoonTV ``config.json`` file and the stored AdminConfig document.

Readers use the typed view (``view.AdminConfigView``, one per config version: ``ConfigService.view()``);
writers change the JSON document in ``ConfigService.update(mutate)`` through ``document``'s accessors.
No module outside this package indexes the document itself.
"""
