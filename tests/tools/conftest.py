"""The fake Graph API over real HTTP, shared by the client tests: one server
per test module, with that module's ``TOKEN`` as the valid access token."""

import pytest

from whatsapp_team.tools.fake_graph import FakeGraph, FakeGraphServer


@pytest.fixture(scope="module")
def server(request):
    with FakeGraphServer(FakeGraph(access_token=request.module.TOKEN)) as running:
        yield running


@pytest.fixture
def graph(server):
    server.graph.reset()
    return server.graph
