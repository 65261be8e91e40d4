"""HTTP front door: serve one model folder with FastAPI + uvicorn (``recgan serve``).

Import cost is kept off ``import recgan``: this package is only imported by ``recgan serve`` and its users.
"""

from recgan.serving.app import ServeSettings, create_app
from recgan.serving.holder import LoadedModel, ModelHolder

__all__ = ["LoadedModel", "ModelHolder", "ServeSettings", "create_app"]
