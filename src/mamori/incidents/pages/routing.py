"""The one router the incidents pages register on, and who may see (Viewer) or act (Responder) on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mamori.web.deps import Principal, require

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]
Responder = Annotated[Principal, Depends(require("respond"))]
