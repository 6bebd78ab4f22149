"""models: networks built from gates (layers, the seed chapter's two-layer net, MLPs, training).

Nothing here yet: the models issue builds it on top of ``graph``.
"""

__all__: list[str] = []
