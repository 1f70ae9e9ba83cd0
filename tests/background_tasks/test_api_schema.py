"""The OpenAPI schema: names of its own for each body, every error answer, parameter ranges."""
import pytest

pytestmark = pytest.mark.django_db

TRIGGERS = ("/api/v1/imports/products", "/api/v1/exports/products", "/api/v1/marketplace/subscription-maintenance")


@pytest.fixture
def schema(staff_client):
    response = staff_client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def ref_name(content: dict) -> str:
    return content["schema"]["$ref"].rsplit("/", 1)[-1]


def test_component_names_are_meaningful(schema):
    names = set(schema["components"]["schemas"])

    assert {"ProductImportUpload", "ProductImportUrl", "ProductExportInput", "UnreadNotifications"} <= names
    assert not names & {"", "Input", "Output", "InputSerializer", "OutputSerializer", "Serializer"}


def test_each_trigger_documents_its_own_body(schema):
    imports = schema["paths"]["/api/v1/imports/products"]["post"]["requestBody"]["content"]
    exports = schema["paths"]["/api/v1/exports/products"]["post"]["requestBody"]["content"]

    assert ref_name(imports["multipart/form-data"]) == "ProductImportUpload"
    assert ref_name(imports["application/json"]) == "ProductImportUrl"
    assert ref_name(exports["application/json"]) == "ProductExportInput"
    upload = schema["components"]["schemas"]["ProductImportUpload"]
    assert upload["properties"]["file"]["format"] == "binary"
    assert set(upload["required"]) == {"vendor", "file"}
    assert {"dry_run", "deactivate_missing"} <= set(upload["properties"])
    assert "requestBody" not in schema["paths"]["/api/v1/marketplace/subscription-maintenance"]["post"]


def test_unread_count_has_its_own_schema(schema):
    answer = schema["paths"]["/api/v1/admin/notifications/unread-count"]["get"]["responses"]["200"]

    assert ref_name(answer["content"]["application/json"]) == "UnreadNotifications"
    counts = schema["paths"]["/api/v1/admin/background-tasks/counts"]["get"]["responses"]["200"]
    assert ref_name(counts["content"]["application/json"]) == "BackgroundTaskCounts"


def test_every_operation_documents_its_error_answers(schema):
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        assert {"401", "403"} <= codes, (method, path)
        if "{job_id}" in path:
            assert "404" in codes, (method, path)
        if path in TRIGGERS:
            assert {"202", "400"} <= codes, path
    cancel = schema["paths"]["/api/v1/admin/background-tasks/{job_id}/cancel"]["post"]["responses"]
    retry = schema["paths"]["/api/v1/admin/background-tasks/{job_id}/retry"]["post"]["responses"]
    assert {"202", "409"} <= set(cancel) and {"202", "409"} <= set(retry)
    assert "413" in schema["paths"]["/api/v1/imports/products"]["post"]["responses"]


def test_parameters_carry_their_ranges(schema):
    listing = {p["name"]: p for p in schema["paths"]["/api/v1/admin/background-tasks"]["get"]["parameters"]}
    job_id = schema["paths"]["/api/v1/admin/background-tasks/{job_id}"]["get"]["parameters"][0]

    assert (listing["limit"]["schema"]["minimum"], listing["limit"]["schema"]["maximum"]) == (1, 1000)
    assert listing["ids"]["schema"]["maxItems"] == 200 and listing["ids"]["explode"] is False
    assert "product_import" in listing["task_type"]["schema"]["enum"]
    assert job_id["name"] == "job_id" and job_id["schema"]["type"] == "integer" and job_id["schema"]["minimum"] == 1


def test_an_api_path_that_names_nothing_answers_json(staff_client):
    for path in ("/api/v1/admin/background-tasks/-1", "/api/v1/nothing-here", "/api/v1/imports/products/x/error-report"):
        response = staff_client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_a_job_id_beyond_the_database_range_is_a_404(staff_client):
    for path in ("/api/v1/admin/background-tasks/99999999999999999999", "/api/v1/imports/products/99999999999999999999/error-report"):
        response = staff_client.get(path)
        assert response.status_code == 404
        assert "99999999999999999999" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": 1}, "format"),
        ({"gzip": "true"}, "gzip"),
        ({"gzip": 1}, "gzip"),
        ({"vendor": 5}, "vendor"),
        ({"updated_since": 1700000000}, "updated_since"),
    ],
)
def test_a_json_value_of_the_wrong_type_is_a_field_error(staff_client, body, field):
    response = staff_client.post("/api/v1/exports/products", body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_a_form_boolean_is_true_or_false(staff_client):
    response = staff_client.post("/api/v1/exports/products", {"gzip": "0"})

    assert response.status_code == 400
    assert response.json() == {"gzip": ["Must be true or false."]}
