import json

import httpx
import pytest

from tests.audio import tone_bytes

HOOKS = "https://hooks.test"
SOURCE_URL = "https://files.test/source.mp3"


class Outside:
    """The world outside the app: a callback receiver (hooks.test) and a file host
    (files.test). The sandbox's requests to them go through provider_transport's fallback."""

    def __init__(self, source):
        self.source = source
        self.callbacks = []

    def __call__(self, request):
        request.read()
        if request.url.host == "hooks.test":
            self.callbacks.append(request)
            return httpx.Response(200, json={"ok": True})
        if request.url.host == "files.test" and request.url.path == "/source.mp3":
            return httpx.Response(200, content=self.source,
                                  headers={"content-type": "audio/mpeg"})
        if request.url.host == "files.test" and request.url.path == "/garbage.mp3":
            return httpx.Response(200, content=b"this is not audio")
        return httpx.Response(404)

    def bodies(self):
        return [json.loads(r.content) for r in self.callbacks]


@pytest.fixture(scope="session")
def source_mp3(tmp_path_factory):
    return tone_bytes(8, "mp3", tmp_path_factory.mktemp("src"), frequency=330)


@pytest.fixture
def outside(provider_transport, source_mp3):
    world = Outside(source_mp3)
    provider_transport.fallback = httpx.MockTransport(world)
    return world
