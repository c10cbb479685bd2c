"""A stateful test double of a Chainlink node's HTTP API (the real node cannot run here).

Every behaviour is taken from the node's source, smartcontractkit/chainlink, read through the stored
copies of its files; each module names the files and commits it follows. The main ones:
core/web/jobs_controller.go and core/web/presenters/job.go @ f12ac0fd98264a8fc3861aff5000e1ccb92d9244
(v2 module path, with PUT /v2/jobs/:ID and workflow/stream jobs), core/web/sessions_controller.go
@ e0c14a0ae805a9ebd958b30de92e68aed1ec312e, core/sessions/localauth/orm.go
@ e9ba8a1076578392f25bedd121ae2a32f3bd5821, core/web/router.go @ a64a9282eca372ddd994d6f00c46432626f9146b.

Node API served: POST/DELETE /sessions; GET /health, /readyz; GET/POST /v2/jobs, GET/PUT/DELETE
/v2/jobs/:ID; GET/POST /v2/bridge_types, GET/PATCH/DELETE /v2/bridge_types/:BridgeName; GET
/v2/keys/eth, /v2/keys/p2p, /v2/keys/ocr, /v2/keys/ocr2; POST /v2/keys/ocr2/:chainType and DELETE
/v2/keys/ocr2/:keyID (core/web/ocr2_keys_controller.go @ 11b8439b32160eaeab966606f6f2221028f305f6, which a
test uses to rotate a node's OCR2 bundle); POST /v2/keys/ocr/import and /v2/keys/ocr2/import (keystore.py:
the password is checked against the export's MAC). Every other path is a bare 404, as the node answers
unknown /v2 paths. Not modelled: API-token auth (X-API-KEY), user roles (the one user is an admin), job
runs, ETH/P2P/OCR key creation, ETH/P2P import (the node imports those from its secrets TOML at start),
every key export, OCR (v1) bundles other than imported ones, the request-size limit, pipeline DOT
parsing beyond finding bridge tasks, and the per-job-type checks of the node's Validated*Spec functions
(only duration fields are decoded).

Double-only controls live under /__double/ and are NOT part of the node's API:
GET /__double/stats, POST /__double/reset, POST and DELETE /__double/faults (see app.Fault).
"""
