"""local/swagger_import.py: the emulator imports Chalice's Swagger 2.0 into the
same REST API that API Gateway's ordinary calls (create_resource, put_method,
put_integration, create_authorizer ...) build by hand, as API Gateway documents
the mapping; what it does not model it refuses; OpenAPI 3 is moto's as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice import Chalice, CognitoUserPoolAuthorizer, CORSConfig, IAMAuthorizer
from chalice.deploy import models
from chalice.deploy.swagger import SwaggerGenerator

from local import swagger_import
from local.emulator import Emulator
from local.launch import free_port
from local.stack import emulator_client

REGION = "us-east-1"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:flashsale-dev"
URI = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"
POOL = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"
CORS_HEADERS = ("Allow-Methods", "Allow-Origin", "Allow-Headers", "Expose-Headers", "Max-Age")


@pytest.fixture(scope="module")
def apigateway() -> Iterator[Any]:
    running = Emulator("127.0.0.1", free_port()).start()
    try:
        yield emulator_client("apigateway", running.url)
    finally:
        running.stop()


def chalice_swagger() -> dict[str, Any]:
    """What `chalice deploy` sends for an app shaped like ours: API keys, a
    user pool authorizer, IAM auth, path parameters, CORS, binary types."""
    app = Chalice(app_name="shop")
    app.api.cors = CORSConfig(allow_origin="*", max_age=600, expose_headers=["Date"])
    shoppers = CognitoUserPoolAuthorizer("Shoppers", provider_arns=[POOL])

    @app.route("/health", api_key_required=True)
    def health() -> dict[str, str]:
        return {}

    @app.route("/orders", methods=["POST"], authorizer=shoppers, api_key_required=True)
    def order() -> dict[str, str]:
        return {}

    @app.route("/products/{productId}", methods=["PUT"], authorizer=IAMAuthorizer())
    def put_product(productId: str) -> dict[str, str]:
        return {}

    rest = models.RestAPI(
        resource_name="rest_api", swagger_doc=None, endpoint_type="REGIONAL",
        minimum_compression="", api_gateway_stage="api", xray=True, lambda_function=None,
    )  # fmt: skip
    generator = SwaggerGenerator(REGION, {"api_handler_arn": FUNCTION})
    doc: dict[str, Any] = generator.generate_swagger(app, rest)
    return doc


def by_hand(client: Any) -> str:
    """The same API through API Gateway's ordinary calls."""
    api = client.create_rest_api(name="shop", description="")["id"]
    root = client.get_resources(restApiId=api)["items"][0]["id"]
    pool = client.create_authorizer(
        restApiId=api, name="Shoppers", type="COGNITO_USER_POOLS", providerARNs=[POOL],
        identitySource="method.request.header.Authorization", authType="cognito_user_pools",
    )["id"]  # fmt: skip
    health = client.create_resource(restApiId=api, parentId=root, pathPart="health")["id"]
    orders = client.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    products = client.create_resource(restApiId=api, parentId=root, pathPart="products")["id"]
    product = client.create_resource(restApiId=api, parentId=products, pathPart="{productId}")
    path_param = {"method.request.path.productId": True}
    routes = [
        (health, "GET", {"authorizationType": "NONE", "apiKeyRequired": True}, None),
        (orders, "POST", {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": pool,
                          "apiKeyRequired": True}, None),
        (product["id"], "PUT", {"authorizationType": "AWS_IAM", "apiKeyRequired": False},
         path_param),
    ]  # fmt: skip
    for resource, verb, auth, parameters in routes:
        extra = {"requestParameters": parameters} if parameters else {}
        client.put_method(restApiId=api, resourceId=resource, httpMethod=verb, **auth, **extra)
        client.put_method_response(
            restApiId=api, resourceId=resource, httpMethod=verb, statusCode="200",
            responseModels={"application/json": "Empty"},
        )  # fmt: skip
        client.put_integration(
            restApiId=api, resourceId=resource, httpMethod=verb, type="AWS_PROXY", uri=URI,
            integrationHttpMethod="POST", passthroughBehavior="WHEN_NO_MATCH",
            contentHandling="CONVERT_TO_TEXT",
        )  # fmt: skip
        client.put_integration_response(
            restApiId=api, resourceId=resource, httpMethod=verb, statusCode="200",
            selectionPattern="",
        )  # fmt: skip
        allowed = f"'{verb},OPTIONS'"
        client.put_method(
            restApiId=api, resourceId=resource, httpMethod="OPTIONS", authorizationType="NONE",
            apiKeyRequired=False,
        )  # fmt: skip
        client.put_method_response(
            restApiId=api, resourceId=resource, httpMethod="OPTIONS", statusCode="200",
            responseModels={"application/json": "Empty"},
            responseParameters={
                f"method.response.header.Access-Control-{h}": False for h in CORS_HEADERS
            },
        )  # fmt: skip
        client.put_integration(
            restApiId=api, resourceId=resource, httpMethod="OPTIONS", type="MOCK",
            requestTemplates={"application/json": '{"statusCode": 200}'},
            passthroughBehavior="WHEN_NO_MATCH", contentHandling="CONVERT_TO_TEXT",
        )  # fmt: skip
        headers = {
            "Allow-Methods": allowed,
            "Allow-Origin": "'*'",
            "Allow-Headers": "'Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,"
            "X-Api-Key'",
            "Expose-Headers": "'Date'",
            "Max-Age": "'600'",
        }
        client.put_integration_response(
            restApiId=api, resourceId=resource, httpMethod="OPTIONS", statusCode="200",
            selectionPattern="",
            responseParameters={
                f"method.response.header.Access-Control-{h}": v for h, v in headers.items()
            },
        )  # fmt: skip
    binary = chalice_swagger()["x-amazon-apigateway-binary-media-types"]
    client.update_rest_api(
        restApiId=api,
        patchOperations=[{"op": "add", "path": "/binaryMediaTypes/x", "value": t} for t in binary],
    )
    return str(api)


def shape(client: Any, api: str) -> dict[str, Any]:
    """The API as read back, with ids replaced by what they name."""
    authorizers = client.get_authorizers(restApiId=api)["items"]
    names = {a["id"]: a["name"] for a in authorizers}
    resources = {}
    for resource in client.get_resources(restApiId=api, embed=["methods"])["items"]:
        methods = {}
        for verb, method in (resource.get("resourceMethods") or {}).items():
            method = dict(method)
            if "authorizerId" in method:
                method["authorizerId"] = names[method["authorizerId"]]
            methods[verb] = method
        resources[resource["path"]] = methods
    rest = client.get_rest_api(restApiId=api)
    roots = {r["id"] for r in client.get_resources(restApiId=api)["items"] if r["path"] == "/"}
    unnamed = [{k: v for k, v in a.items() if k != "id"} for a in authorizers]
    return {
        "resources": resources,
        "authorizers": sorted(unnamed, key=lambda a: str(a["name"])),
        "binaryMediaTypes": rest["binaryMediaTypes"],
        "root": rest["rootResourceId"] in roots,
    }


def import_swagger(client: Any, doc: dict[str, Any], **parameters: str) -> str:
    import json

    return str(client.import_rest_api(body=json.dumps(doc), parameters=parameters)["id"])


def test_chalice_swagger_imports_as_the_same_api_built_by_hand(apigateway: Any) -> None:
    imported = import_swagger(apigateway, chalice_swagger())
    expected = shape(apigateway, by_hand(apigateway))
    assert shape(apigateway, imported) == expected
    # The comparison saw every route, its auth and its integration.
    assert expected["resources"]["/orders"]["POST"]["authorizationType"] == "COGNITO_USER_POOLS"
    assert expected["resources"]["/products/{productId}"]["PUT"]["authorizationType"] == "AWS_IAM"
    assert expected["resources"]["/health"]["GET"]["apiKeyRequired"] is True
    assert expected["authorizers"][0]["providerARNs"] == [POOL]


def test_import_takes_the_endpoint_type_asked_for(apigateway: Any) -> None:
    api = import_swagger(apigateway, chalice_swagger(), endpointConfigurationTypes="REGIONAL")
    assert apigateway.get_rest_api(restApiId=api)["endpointConfiguration"]["types"] == ["REGIONAL"]
    with pytest.raises(ClientError):
        import_swagger(apigateway, chalice_swagger(), endpointConfigurationTypes="GLOBAL")


def test_overwrite_keeps_the_root_and_the_authorizer_and_drops_removed_routes(
    apigateway: Any,
) -> None:
    import json

    doc = chalice_swagger()
    api = import_swagger(apigateway, doc)
    before = apigateway.get_rest_api(restApiId=api)["rootResourceId"]
    (authorizer,) = apigateway.get_authorizers(restApiId=api)["items"]
    del doc["paths"]["/health"]
    apigateway.put_rest_api(restApiId=api, mode="overwrite", body=json.dumps(doc))
    paths = {r["path"] for r in apigateway.get_resources(restApiId=api)["items"]}
    assert "/health" not in paths and "/orders" in paths
    assert apigateway.get_rest_api(restApiId=api)["rootResourceId"] == before
    assert before in {r["id"] for r in apigateway.get_resources(restApiId=api)["items"]}
    assert apigateway.get_authorizers(restApiId=api)["items"] == [authorizer]


def test_an_extension_it_does_not_model_is_refused_and_leaves_no_api(apigateway: Any) -> None:
    doc = chalice_swagger()
    doc["x-amazon-apigateway-gateway-responses"] = {"DEFAULT_4XX": {}}
    count = len(apigateway.get_rest_apis()["items"])
    with pytest.raises(ClientError, match="does not model x-amazon-apigateway-gateway-responses"):
        import_swagger(apigateway, doc)
    assert len(apigateway.get_rest_apis()["items"]) == count
    doc = chalice_swagger()
    doc["paths"]["/orders"]["post"]["x-amazon-apigateway-request-validator"] = "all"
    with pytest.raises(ClientError, match="request-validator"):
        import_swagger(apigateway, doc)


def test_openapi_3_is_still_moto_own_import(apigateway: Any) -> None:
    doc = {
        "openapi": "3.0.1",
        "info": {"title": "three", "description": "moto's", "version": "1"},
        "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    api = import_swagger(apigateway, doc)
    assert apigateway.get_rest_api(restApiId=api)["description"] == "moto's"
    paths = {r["path"] for r in apigateway.get_resources(restApiId=api)["items"]}
    assert paths == {"/", "/x"}


def test_another_moto_is_refused() -> None:
    with pytest.raises(swagger_import.WrongMoto, match=r"5\.2\.5"):
        swagger_import.install(version="5.3.0")
