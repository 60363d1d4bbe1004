"""Swagger 2.0 import for moto's API Gateway, for the local emulator.

`chalice deploy` creates its REST API with ImportRestApi and updates it with
PutRestApi (mode=overwrite), both with a Swagger 2.0 document carrying
API Gateway's `x-amazon-apigateway-*` extensions. moto 5.2.5 accepts only
OpenAPI 3 there (and needs `info.description`), ignores the import's
`endpointConfigurationTypes`, and in overwrite mode replaces the root
resource, so `rootResourceId` names a resource that no longer exists.

This reads what Chalice emits the way API Gateway documents it: resources and
methods from `paths`; a method's `security` as its API key requirement
(`api_key`), IAM auth (`x-amazon-apigateway-authtype: awsSigv4`) or a Cognito
or Lambda authorizer (`x-amazon-apigateway-authorizer`, created from
`securityDefinitions`); path, query and header parameters as the method's
request parameters; `x-amazon-apigateway-integration` as its integration (type
and passthrough upper-cased, as API Gateway stores them) and integration
responses; response headers as method response parameters;
`x-amazon-apigateway-binary-media-types` and `x-amazon-apigateway-policy`. An
extension it does not model is refused (400), not ignored: a rehearsal must not
pass on something it never looked at. OpenAPI 3 still goes to moto's own code.
Installed by the emulator only; in-process tests use moto as is.
"""

from __future__ import annotations

import json
from typing import Any

from moto.apigateway.exceptions import BadRequestException
from moto.apigateway.models import APIGatewayBackend, Authorizer, Resource, RestAPI
from moto.apigateway.responses import APIGatewayResponse

from local import moto_pin
from local.moto_pin import MOTO_VERSION, WrongMoto  # noqa: F401 (re-exported: tests catch it here)

# Written against moto 5.2.5's models (RestAPI, Resource, Method, Authorizer)
# and its ImportRestApi/PutRestApi handlers (local/moto_pin.py refuses another).
ENDPOINT_TYPES = {"EDGE", "REGIONAL", "PRIVATE"}
# The extensions read below, where they may appear.
API_EXTENSIONS = {"x-amazon-apigateway-binary-media-types", "x-amazon-apigateway-policy"}
METHOD_EXTENSIONS = {"x-amazon-apigateway-integration"}
SCHEME_EXTENSIONS = {"x-amazon-apigateway-authtype", "x-amazon-apigateway-authorizer"}
INTEGRATION_KEYS = {
    "type", "uri", "httpMethod", "passthroughBehavior", "contentHandling", "requestTemplates",
    "requestParameters", "responses", "credentials", "timeoutInMillis", "cacheNamespace",
    "connectionType", "tlsConfig",
}  # fmt: skip
# Where a Swagger parameter lands in API Gateway's request parameters.
PARAMETER_PLACES = {"path": "path", "query": "querystring", "header": "header"}


def is_swagger2(api_doc: Any) -> bool:
    return isinstance(api_doc, dict) and str(api_doc.get("swagger", "")).startswith("2")


def _refuse_unknown(where: str, spec: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(
        key for key in spec if key.startswith("x-amazon-apigateway-") and key not in known
    )
    if unknown:
        raise BadRequestException(
            f"local/swagger_import.py does not model {', '.join(unknown)} ({where})"
        )


def _replace_authorizers(
    backend: APIGatewayBackend, api: RestAPI, api_doc: dict[str, Any]
) -> dict[str, Authorizer]:
    """The document's authorizers by scheme name; one of the same name is kept
    (its id too), the API's others are deleted."""
    existing = {authorizer.name: authorizer for authorizer in api.authorizers.values()}
    wanted: dict[str, Authorizer] = {}
    for name, scheme in (api_doc.get("securityDefinitions") or {}).items():
        _refuse_unknown(f"securityDefinitions.{name}", scheme, SCHEME_EXTENSIONS)
        spec = scheme.get("x-amazon-apigateway-authorizer")
        if spec is None:
            continue
        kind = str(spec.get("type", "")).upper()
        if kind not in ("COGNITO_USER_POOLS", "TOKEN", "REQUEST"):
            raise BadRequestException(f"authorizer {name}: unknown type {spec.get('type')!r}")
        source = spec.get("identitySource")
        if source is None and scheme.get("in") == "header":
            source = f"method.request.header.{scheme['name']}"
        fields = {
            "provider_arns": spec.get("providerARNs"),
            "auth_type": scheme.get("x-amazon-apigateway-authtype"),
            "authorizer_uri": spec.get("authorizerUri"),
            "authorizer_credentials": spec.get("authorizerCredentials"),
            "identity_source": source,
            "identiy_validation_expression": spec.get("identityValidationExpression"),
            # API Gateway's default, as CreateAuthorizer has it.
            "authorizer_result_ttl": spec.get("authorizerResultTtlInSeconds", 300),
        }
        if name in existing:
            api.authorizers.pop(existing[name].id or "")
            wanted[name] = api.create_authorizer(existing[name].id or "", name, kind, **fields)
        else:
            wanted[name] = backend.create_authorizer(api.id, name, kind, **fields)
    for name, authorizer in existing.items():
        if name not in wanted:
            api.authorizers.pop(authorizer.id or "", None)
    return wanted


def _method_auth(
    security: list[dict[str, Any]],
    schemes: dict[str, Any],
    authorizers: dict[str, Authorizer],
) -> dict[str, Any]:
    """authorizationType, authorizerId, scopes and apiKeyRequired from `security`."""
    auth: dict[str, Any] = {"authorization_type": "NONE", "api_key_required": False}
    for requirement in security:
        for name, scopes in requirement.items():
            scheme = schemes.get(name)
            if scheme is None:
                raise BadRequestException(f"security names an undefined scheme {name!r}")
            if name in authorizers:
                authorizer = authorizers[name]
                pool = authorizer.type == "COGNITO_USER_POOLS"
                auth["authorization_type"] = "COGNITO_USER_POOLS" if pool else "CUSTOM"
                auth["authorizer_id"] = authorizer.id
                if scopes:
                    auth["authorization_scopes"] = list(scopes)
            elif str(scheme.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4":
                auth["authorization_type"] = "AWS_IAM"
            elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                # API Gateway's own key: the x-api-key header (apiKeySource HEADER).
                if scheme.get("name", "").lower() != "x-api-key":
                    raise BadRequestException(f"api key scheme {name!r} is not x-api-key")
                auth["api_key_required"] = True
            else:
                raise BadRequestException(f"security scheme {name!r} is not modelled")
    return auth


def _request_parameters(method_doc: dict[str, Any]) -> dict[str, bool] | None:
    parameters = {}
    for parameter in method_doc.get("parameters") or []:
        place = PARAMETER_PLACES.get(parameter.get("in", ""))
        if place is not None:
            key = f"method.request.{place}.{parameter['name']}"
            parameters[key] = bool(parameter.get("required", False))
    return parameters or None


def _ensure_resource(backend: APIGatewayBackend, api: RestAPI, path: str) -> Resource:
    """The resource at `path`, creating it and its missing ancestors."""
    resource = api.resources[api.root_resource_id]
    for part in [p for p in path.split("/") if p]:
        children = [r for r in api.resources.values() if r.parent_id == resource.id]
        child = next((r for r in children if r.path_part == part), None)
        resource = child or backend.create_resource(api.id, resource.id, part)
    return resource


def _put_method(
    backend: APIGatewayBackend,
    api: RestAPI,
    resource: Resource,
    verb: str,
    method_doc: dict[str, Any],
    auth: dict[str, Any],
) -> None:
    _refuse_unknown(f"{verb} {resource.get_path()}", method_doc, METHOD_EXTENSIONS)
    backend.put_method(
        api.id,
        resource.id,
        verb,
        request_parameters=_request_parameters(method_doc),
        operation_name=method_doc.get("operationId"),
        **auth,
    )
    produces = method_doc.get("produces") or ["application/json"]
    for code, response in (method_doc.get("responses") or {}).items():
        if code == "default":
            continue
        headers = response.get("headers") or {}
        schema = (response.get("schema") or {}).get("$ref", "")
        models = {kind: schema.rsplit("/", 1)[1] for kind in produces} if schema else None
        backend.put_method_response(
            api.id,
            resource.id,
            verb,
            str(code),
            response_models=models,
            response_parameters={f"method.response.header.{h}": False for h in headers} or None,
        )
    integration = method_doc.get("x-amazon-apigateway-integration")
    if integration is None:
        return
    unknown = sorted(set(integration) - INTEGRATION_KEYS)
    if unknown:
        raise BadRequestException(f"integration of {verb} {resource.get_path()}: {unknown}")
    args = backend._build_integration_args(integration)
    args["integration_type"] = str(integration.get("type", "")).upper()
    if args.get("passthrough_behavior"):
        args["passthrough_behavior"] = args["passthrough_behavior"].upper()
    # A mock integration has neither (moto's put_integration wants both named).
    args.setdefault("uri", None)
    args.setdefault("integration_method", None)
    backend.put_integration(
        function_id=api.id,
        resource_id=resource.id,
        method_type=verb,
        **{k: v for k, v in args.items() if v is not None or k in ("uri", "integration_method")},
    )
    for response_args in backend._build_integration_responses_args(integration):
        backend.put_integration_response(
            function_id=api.id,
            resource_id=resource.id,
            method_type=verb,
            **{k: v for k, v in response_args.items() if v is not None},
        )


def put_swagger(
    backend: APIGatewayBackend, rest_api_id: str, api_doc: dict[str, Any], mode: str
) -> RestAPI:
    """PutRestApi of a Swagger 2.0 document: `overwrite` leaves only what the
    document defines (the root resource keeps its id), `merge` adds to the API."""
    if mode not in ("merge", "overwrite"):
        raise BadRequestException(f"unknown put mode {mode!r}")
    api = backend.get_rest_api(rest_api_id)
    _refuse_unknown("top level", api_doc, API_EXTENSIONS)
    if mode == "overwrite":
        root = api.resources[api.root_resource_id]
        root.resource_methods.clear()
        api.resources = {root.id: root}
        api.binaryMediaTypes = []
        api.policy = None
    if "x-amazon-apigateway-binary-media-types" in api_doc:
        api.binaryMediaTypes = list(api_doc["x-amazon-apigateway-binary-media-types"])
    if "x-amazon-apigateway-policy" in api_doc:
        api.policy = json.dumps(api_doc["x-amazon-apigateway-policy"])
    schemes = api_doc.get("securityDefinitions") or {}
    authorizers = _replace_authorizers(backend, api, api_doc)
    default_security = api_doc.get("security") or []
    for path, methods in sorted((api_doc.get("paths") or {}).items()):
        resource = _ensure_resource(backend, api, path)
        for verb, method_doc in methods.items():
            if verb == "parameters" or verb.startswith("x-"):
                continue
            security = method_doc.get("security", default_security)
            auth = _method_auth(security, schemes, authorizers)
            _put_method(backend, api, resource, verb.upper(), method_doc, auth)
    return api


_moto_import = APIGatewayBackend.import_rest_api
_moto_put = APIGatewayBackend.put_rest_api
_moto_import_response = APIGatewayResponse.import_rest_api


def import_rest_api(
    self: APIGatewayBackend, api_doc: dict[str, Any], fail_on_warnings: bool
) -> RestAPI:
    if not is_swagger2(api_doc):
        return _moto_import(self, api_doc, fail_on_warnings)
    info = api_doc.get("info") or {}
    if "title" not in info:
        raise BadRequestException("the document's info.title names the API")
    api = self.create_rest_api(name=info["title"], description=info.get("description", ""))
    try:
        return put_swagger(self, api.id, api_doc, "overwrite")
    except Exception:
        # A refused import leaves no half-made API behind, as API Gateway's does not.
        self.apis.pop(api.id, None)
        raise


def put_rest_api(
    self: APIGatewayBackend,
    function_id: str,
    api_doc: dict[str, Any],
    fail_on_warnings: bool,
    mode: str = "merge",
) -> RestAPI:
    if not is_swagger2(api_doc):
        return _moto_put(self, function_id, api_doc, fail_on_warnings, mode)
    return put_swagger(self, function_id, api_doc, mode)


def import_rest_api_response(self: APIGatewayResponse) -> Any:
    """ImportRestApi, then the endpoint type its `endpointConfigurationTypes`
    parameter asks for (moto leaves every imported API EDGE)."""
    requested = (self.querystring.get("endpointConfigurationTypes") or [None])[0]
    if requested is not None and requested not in ENDPOINT_TYPES:
        raise BadRequestException(f"unknown endpointConfigurationTypes {requested!r}")
    status, headers, body = _moto_import_response(self)
    if requested is None:
        return status, headers, body
    api = self.backend.get_rest_api(json.loads(body)["id"])
    api.endpoint_configuration = {"types": [requested]}
    return status, headers, json.dumps(api.to_dict())


def install(version: str | None = None) -> None:
    """Teach every moto API Gateway backend Swagger 2.0 import and put."""
    moto_pin.require(
        "local/swagger_import.py", f"is written against moto {MOTO_VERSION}'s API Gateway", version
    )
    APIGatewayBackend.import_rest_api = import_rest_api  # type: ignore[method-assign]
    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]
    APIGatewayResponse.import_rest_api = import_rest_api_response  # type: ignore[method-assign]
