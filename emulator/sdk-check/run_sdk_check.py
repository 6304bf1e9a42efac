#!/usr/bin/env python3
"""Drive the official DashScope Python SDK, unmodified, against the emulator.

Enrollment (create / query until OK / list / update / delete), synthesis with the
cloned voice (non-streaming ``call()``, ``streaming_call``/``streaming_complete``,
mp3 / wav / pcm and the SDK's ``AudioFormat.DEFAULT``, several tasks on one pooled
connection) and error cases. Prints one row per check and exits 1 if any failed.

Usage (see README.md beside this file):

    /usr/bin/python3 run_sdk_check.py --sdk-path /tmp/dashscope-sdk \
        --sample-url http://127.0.0.1:8799/spk01_m_en_librivox_16k_mono.wav \
        --bad-format-url http://127.0.0.1:8799/text_renamed.wav
"""

import argparse
import json
import logging
import sys
import threading
import time
import traceback
from typing import Callable, List, Optional, Tuple


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sdk-path", help="folder holding the dashscope package (omit when pip-installed)")
    p.add_argument("--http-base", default="http://127.0.0.1:8790/api/v1")
    p.add_argument("--ws-url", default="ws://127.0.0.1:8790/api-ws/v1/inference")
    p.add_argument("--key", default="sk-test")
    p.add_argument("--model", default="cosyvoice-v2")
    p.add_argument("--sample-url", required=True, help="a speech WAV/MP3 the emulator can fetch")
    p.add_argument("--bad-format-url", required=True, help="a file that is not WAV/MP3/M4A")
    p.add_argument("--wire-log", help="write the SDK's debug log (sent frames, request bodies) here")
    p.add_argument("--deploy-timeout", type=float, default=30.0)
    return p.parse_args()


ARGS = parse_args()
if ARGS.sdk_path:
    sys.path.insert(0, ARGS.sdk_path)

import dashscope  # noqa: E402  (path set above)
from dashscope.version import __version__ as SDK_VERSION  # noqa: E402
from dashscope.audio.tts_v2 import (  # noqa: E402
    AudioFormat,
    ResultCallback,
    SpeechSynthesizer,
    SpeechSynthesizerObjectPool,
    VoiceEnrollmentException,
    VoiceEnrollmentService,
)

dashscope.api_key = ARGS.key
dashscope.base_http_api_url = ARGS.http_base
dashscope.base_websocket_api_url = ARGS.ws_url

if ARGS.wire_log:
    handler = logging.FileHandler(ARGS.wire_log, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    sdk_logger = logging.getLogger("dashscope")
    sdk_logger.setLevel(logging.DEBUG)
    sdk_logger.addHandler(handler)

RESULTS: List[Tuple[str, bool, str]] = []
TIMEOUT_MS = 20000


def check(name: str, fn: Callable[[], str]) -> bool:
    """Run one check; a returned string is the detail, an exception a failure."""
    try:
        detail = fn()
        RESULTS.append((name, True, detail))
        return True
    except Exception as e:  # noqa: BLE001  (every failure becomes a table row)
        RESULTS.append((name, False, f"{type(e).__name__}: {e}"[:300]))
        if ARGS.wire_log:
            logging.getLogger("dashscope").error(traceback.format_exc())
        return False


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise AssertionError(message)


def audio_kind(data: Optional[bytes]) -> str:
    if not data:
        return "empty"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (data[0] == 0xFF and (data[1] & 0xE0) == 0xE0):
        return "mp3"
    return "raw"


def enrollment_error(fn: Callable[[], object]) -> VoiceEnrollmentException:
    try:
        fn()
    except VoiceEnrollmentException as e:
        return e
    raise AssertionError("no VoiceEnrollmentException raised")


service = VoiceEnrollmentService()
state = {"voice": ""}


def wait_ok(voice_id: str) -> str:
    deadline = time.time() + ARGS.deploy_timeout
    seen = []
    while time.time() < deadline:
        info = service.query_voice(voice_id)
        seen.append(info["status"])
        if info["status"] == "OK":
            return f"{' -> '.join(dict.fromkeys(seen))}; fields {sorted(info.keys())}"
        expect(info["status"] != "UNDEPLOYED", "voice UNDEPLOYED")
        time.sleep(0.5)
    raise AssertionError(f"not OK after {ARGS.deploy_timeout}s: {seen[-1:]}")


def create() -> str:
    voice_id = service.create_voice(target_model=ARGS.model, prefix="sdkcheck", url=ARGS.sample_url)
    expect(voice_id.startswith(f"{ARGS.model}-sdkcheck-"), f"unexpected id {voice_id}")
    state["voice"] = voice_id
    return voice_id


def list_voices() -> str:
    all_voices = service.list_voices()
    mine = service.list_voices(prefix="sdkcheck", page_index=0, page_size=10)
    ids = [v["voice_id"] for v in mine]
    expect(state["voice"] in ids, "created voice not listed under its prefix")
    item = next(v for v in mine if v["voice_id"] == state["voice"])
    expect(
        set(item.keys()) >= {"voice_id", "gmt_create", "gmt_modified", "status"},
        f"item fields {sorted(item.keys())}",
    )
    return f"{len(all_voices)} listed, {len(mine)} with prefix; item fields {sorted(item.keys())}"


def update() -> str:
    expect(service.update_voice(state["voice"], ARGS.sample_url) is None, "update returned a value")
    return "accepted; " + wait_ok(state["voice"])


class Collector(ResultCallback):
    """Collects streamed audio and events; the SDK calls it from its socket thread."""

    def __init__(self) -> None:
        self.audio = bytearray()
        self.events: List[str] = []
        self.errors: List[str] = []
        self.completed = threading.Event()
        self.opened = False

    def on_open(self) -> None:
        self.opened = True

    def on_complete(self) -> None:
        self.completed.set()

    def on_error(self, message) -> None:
        self.errors.append(str(message))
        self.completed.set()

    def on_event(self, message: str) -> None:
        self.events.append(json.loads(message)["payload"]["output"]["type"])

    def on_data(self, data: bytes) -> None:
        self.audio.extend(data)


def synth_call(fmt: AudioFormat, expected: str) -> Callable[[], str]:
    def run() -> str:
        synth = SpeechSynthesizer(model=ARGS.model, voice=state["voice"], format=fmt)
        audio = synth.call("你好，世界。今天天气怎么样？", timeout_millis=TIMEOUT_MS)
        kind = audio_kind(audio)
        expect(kind == expected, f"got {kind} ({len(audio or b'')} bytes), want {expected}")
        if expected == "raw":
            expect(len(audio) % 2 == 0, "odd PCM length")
        last = synth.get_response() or {}
        expect(last.get("header", {}).get("event") == "task-finished", f"last event {last.get('header')}")
        return f"{len(audio)} bytes {kind}; request_id {synth.get_last_request_id()}"

    return run


def streaming() -> str:
    cb = Collector()
    synth = SpeechSynthesizer(
        model=ARGS.model, voice=state["voice"], format=AudioFormat.WAV_16000HZ_MONO_16BIT, callback=cb
    )
    for part in ["Hello there. ", "This text arrives ", "in pieces, ", "and ends here."]:
        synth.streaming_call(part)
    synth.streaming_complete(complete_timeout_millis=TIMEOUT_MS)
    expect(cb.opened and cb.completed.is_set(), "callback not opened/completed")
    expect(not cb.errors, f"errors {cb.errors}")
    expect(audio_kind(bytes(cb.audio)) == "wav", "stream is not one WAV")
    expect("sentence-begin" in cb.events and "sentence-end" in cb.events, f"events {set(cb.events)}")
    usage = (synth.get_response() or {}).get("payload", {}).get("usage")
    return f"{len(cb.audio)} bytes wav, {len(cb.events)} events, usage {usage}"


def pooled_connection() -> str:
    pool = SpeechSynthesizerObjectPool(max_size=1, url=ARGS.ws_url)
    try:
        sizes, sockets, ids = [], [], []
        for text in ["第一个任务。", "Second task on the same socket.", "第三个。"]:
            synth = pool.borrow_synthesizer(
                model=ARGS.model, voice=state["voice"], format=AudioFormat.MP3_22050HZ_MONO_256KBPS
            )
            audio = synth.call(text, timeout_millis=TIMEOUT_MS)
            expect(audio_kind(audio) == "mp3", f"got {audio_kind(audio)}")
            sizes.append(len(audio))
            sockets.append(id(synth.ws))
            ids.append(synth.get_last_request_id())
            pool.return_synthesizer(synth)
        expect(len(set(ids)) == 3, "task ids repeated")
        expect(len(set(sockets)) == 1, f"{len(set(sockets))} sockets for 3 tasks")
        return f"3 tasks, 1 socket, bytes {sizes}"
    finally:
        pool.shutdown()


def bad_voice() -> str:
    synth = SpeechSynthesizer(model=ARGS.model, voice=f"{ARGS.model}-nosuch-{'0' * 32}", format=AudioFormat.DEFAULT)
    audio = None
    raised = ""
    try:
        audio = synth.call("你好。", timeout_millis=TIMEOUT_MS)
    except Exception as e:  # noqa: BLE001  (the SDK raises bare Exception or socket errors here)
        raised = type(e).__name__
    last = synth.get_response() or {}
    header = last.get("header", {})
    expect(header.get("event") == "task-failed", f"last event {header}")
    expect(not audio, "audio returned for an unknown voice")
    return f"task-failed {header.get('error_code')}: {header.get('error_message')}" + (
        f"; SDK raised {raised}" if raised else "; call() returned None"
    )


def bad_format() -> str:
    e = enrollment_error(
        lambda: service.create_voice(target_model=ARGS.model, prefix="sdkbad", url=ARGS.bad_format_url)
    )
    expect(e._status_code == 400 and e._code == "BadRequest.UnsupportedFileFormat", str(e))
    return str(e)


def unknown_voice_query() -> str:
    e = enrollment_error(lambda: service.query_voice(f"{ARGS.model}-nosuch-{'0' * 32}"))
    expect(e._status_code == 400 and e._code == "BadRequest.ResourceNotExist", str(e))
    return str(e)


def bad_key() -> str:
    e = enrollment_error(lambda: VoiceEnrollmentService(api_key="sk-wrong").list_voices())
    expect(e._status_code == 401 and e._code == "InvalidApiKey", str(e))
    return str(e)


def delete() -> str:
    service.delete_voice(state["voice"])
    e = enrollment_error(lambda: service.query_voice(state["voice"]))
    expect(e._code == "BadRequest.ResourceNotExist", str(e))
    return "deleted; query now " + e._code


def main() -> int:
    if check("enrollment: create_voice", create):
        check("enrollment: query_voice until OK", lambda: wait_ok(state["voice"]))
        check("enrollment: list_voices (all, by prefix)", list_voices)
        check("enrollment: update_voice, then OK again", update)
        check("synthesis: call() mp3 22050", synth_call(AudioFormat.MP3_22050HZ_MONO_256KBPS, "mp3"))
        check("synthesis: call() wav 24000", synth_call(AudioFormat.WAV_24000HZ_MONO_16BIT, "wav"))
        check("synthesis: call() pcm 16000", synth_call(AudioFormat.PCM_16000HZ_MONO_16BIT, "raw"))
        check("synthesis: call() AudioFormat.DEFAULT", synth_call(AudioFormat.DEFAULT, "mp3"))
        check("synthesis: streaming_call x4 + streaming_complete", streaming)
        check("synthesis: 3 tasks on one pooled connection", pooled_connection)
        check("error: synthesis with an unknown voice", bad_voice)
        check("enrollment: delete_voice", delete)
    check("error: create_voice with an unsupported file", bad_format)
    check("error: query_voice of an unknown id", unknown_voice_query)
    check("error: wrong API key", bad_key)

    width = max(len(r[0]) for r in RESULTS)
    print(f"dashscope SDK {SDK_VERSION} against {ARGS.http_base}")
    for name, ok, detail in RESULTS:
        print(f"{'PASS' if ok else 'FAIL'}  {name.ljust(width)}  {detail}")
    failed = sum(1 for r in RESULTS if not r[1])
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
