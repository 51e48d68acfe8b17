"""Register bench clients and mint their tokens in one process (the CLI would start once per
client): ``python -m bench.tokens --database URL --operator ORG --structures A,B,…``.

Prints one JSON object: ``{"operator": token, "structures": {org: token}}``. The operator
client (``--operator``: bound to ORG, operator role) may write the shared directory; each
structure's client (``system/*.*``, bound to that Organization) writes the people whose
episode it manages, as a hospital pushes its own. Uses the settings of the environment
(``CM_FHIR_KEYS_DIR``: the server must verify with the same key).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    ap.add_argument("--database", required=True)
    ap.add_argument("--operator", required=True, help="Organization id of the operator client")
    ap.add_argument("--structures", default="", help="Organization ids, comma-separated")
    ap.add_argument("--minutes", type=int, default=240)
    args = ap.parse_args(argv)
    from fhir_service.app import create_app
    from fhir_service.security.principal import Scopes
    from fhir_service.settings import Settings

    settings = Settings.from_env().replace(database_url=args.database, auth="embedded",
                                           demo=False)
    application = create_app(settings)
    security = application.state.security
    types = frozenset(application.state.ctx.resource_types)

    def token(client_id: str, structure: str, operator: bool) -> str:
        client = security.clients.get(client_id)
        if client is None:
            client = security.clients.add(client_id, f"bench {structure}", structure, None,
                                          "system/*.*",
                                          role="operator" if operator else "client")
        minted, _ = security.tokens.mint(client, Scopes.parse(""), minutes=args.minutes,
                                         resource_types=types)
        return str(minted)

    out = {"operator": token("bench-operator", args.operator, True),
           "structures": {org: token(f"bench-{org}", org, False)
                          for org in args.structures.split(",") if org}}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
