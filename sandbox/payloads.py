"""A SandboxTask in each provider's words: status responses and callback bodies, with the
casing each provider really uses (snake in Apikley callbacks, camel in its record-info...)."""

import json

from django.conf import settings

from sandbox.models import SandboxTask

S = SandboxTask.Status


def file_url(task, name, *, stream=False):
    url = f"{settings.PUBLIC_BASE_URL}/sandbox/files/{task.task_id}/{name.rsplit('/', 1)[-1]}"
    return url + "?stream=1" if stream else url


def iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def visible_tracks(task, stage=None):
    """The tracks a stage shows: none before `first`, one at `first`, both when complete."""
    stage = stage or task.status
    count = {S.FIRST: 1, S.COMPLETE: 2}.get(stage, 0)
    return list(enumerate(task.tracks[:count], start=1))


def _track(task, n, track, stage, names):
    """One track; at `first` the track's file URL is still empty, only the stream is set."""
    final = stage == S.COMPLETE
    audio = file_url(task, track["audio"]) if final else ""
    values = {
        "id": track["id"], "audio": audio, "stream": file_url(task, track["audio"], stream=True),
        "image": file_url(task, track["image"]), "prompt": track["prompt"],
        "title": track["title"], "tags": track["tags"],
        "duration": track["duration"] if final else None,
    }
    return {names[k]: v for k, v in values.items() if k in names}


# --- Apikley ------------------------------------------------------------------------------

APIKLEY_SNAKE = {"id": "id", "audio": "audio_url", "stream": "stream_audio_url",
                 "image": "image_url", "prompt": "prompt", "title": "title", "tags": "tags",
                 "duration": "duration"}
APIKLEY_CAMEL = {"id": "id", "audio": "audioUrl", "stream": "streamAudioUrl",
                 "image": "imageUrl", "prompt": "prompt", "title": "title", "tags": "tags",
                 "duration": "duration"}
APIKLEY_STATUS = {S.PENDING: "PENDING", S.RUNNING: "PENDING", S.TEXT: "TEXT_SUCCESS",
                  S.FIRST: "FIRST_SUCCESS", S.COMPLETE: "SUCCESS",
                  S.FAILED: "GENERATE_AUDIO_FAILED"}
APIKLEY_CALLBACK_MSG = {S.TEXT: "Text generated successfully.",
                        S.FIRST: "First track generated successfully.",
                        S.COMPLETE: "All generated successfully."}


def apikley_callback(task, stage):
    if stage == S.FAILED:
        return {"code": int(task.error_code), "msg": task.error_message,
                "data": {"callbackType": "error", "task_id": task.task_id, "data": None}}
    tracks = [_track(task, n, t, stage, APIKLEY_SNAKE) | {"model_name": "chirp-sandbox",
                                                          "createTime": iso(task.created_at)}
              for n, t in visible_tracks(task, stage)]
    return {"code": 200, "msg": APIKLEY_CALLBACK_MSG[stage],
            "data": {"callbackType": stage, "task_id": task.task_id, "data": tracks}}


def apikley_record(task):
    tracks = [_track(task, n, t, task.status, APIKLEY_CAMEL) | {"modelName": "chirp-sandbox"}
              for n, t in visible_tracks(task)]
    failed = task.status == S.FAILED
    return {
        "taskId": task.task_id,
        "parentMusicId": "",
        "param": json.dumps(task.request),
        "response": {"taskId": task.task_id, "sunoData": tracks},
        "status": APIKLEY_STATUS[task.status],
        "type": task.request.get("model", ""),
        "operationType": "upload_cover",
        "errorCode": int(task.error_code) if failed and task.error_code.isdigit() else None,
        "errorMessage": task.error_message if failed else None,
    }


def apikley_art_callback(task):
    if task.status == S.FAILED:
        return {"code": int(task.error_code), "msg": task.error_message,
                "data": {"taskId": task.task_id, "images": None}}
    return {"code": 200, "msg": "success",
            "data": {"taskId": task.task_id, "images": [file_url(task, i) for i in task.images]}}


APIKLEY_ART_FLAG = {S.PENDING: 0, S.RUNNING: 2, S.COMPLETE: 1, S.FAILED: 3}


def apikley_art_record(task):
    done = task.status == S.COMPLETE
    return {
        "taskId": task.task_id,
        "parentTaskId": task.parent.task_id if task.parent_id else "",
        "callbackUrl": task.callback_url,
        "completeTime": iso(task.finished_at),
        "response": {"images": [file_url(task, i) for i in task.images] if done else []},
        "successFlag": APIKLEY_ART_FLAG.get(task.status, 2),
        "createTime": iso(task.created_at),
        "errorCode": int(task.error_code) if task.error_code.isdigit() else None,
        "errorMessage": task.error_message or None,
    }


# --- apiin.one ----------------------------------------------------------------------------

APIINONE_CLIP = {"id": "id", "audio": "audio_url", "image": "image_url", "title": "title",
                 "tags": "tags", "duration": "duration"}


def apiinone_status(task):
    data = {
        "task_id": task.task_id,
        "status": {S.PENDING: "pending", S.RUNNING: "pending"}.get(task.status, task.status),
        "clips": [_track(task, n, t, task.status, APIINONE_CLIP)
                  for n, t in visible_tracks(task)],
        "created_at": iso(task.created_at),
    }
    if task.status == S.FAILED:
        data["fail_message"] = task.error_message
        data["error_code"] = task.error_code
    return {"code": 200, "message": "success", "data": data}


APIINONE_ART_STATUS = {S.PENDING: "PENDING", S.RUNNING: "GENERATING", S.COMPLETE: "SUCCESS",
                       S.FAILED: "FAILED"}


def apiinone_art_status(task):
    data = {
        "taskId": task.task_id,
        "status": APIINONE_ART_STATUS.get(task.status, "GENERATING"),
        "images": [file_url(task, i) for i in task.images] if task.status == S.COMPLETE else [],
        "created_at": iso(task.created_at),
    }
    if task.status == S.FAILED:
        data["message"] = task.error_message
    return {"code": 200, "msg": "success", "data": data}


# --- Apiframe -----------------------------------------------------------------------------

APIFRAME_TRACK = {"id": "id", "audio": "audioUrl", "image": "imageUrl", "title": "title",
                  "tags": "tags", "duration": "duration"}
APIFRAME_STATUS = {S.PENDING: "QUEUED", S.RUNNING: "PROCESSING", S.TEXT: "PROCESSING",
                   S.FIRST: "PROCESSING", S.COMPLETE: "COMPLETED", S.FAILED: "FAILED"}


def apiframe_result(task):
    if task.status != S.COMPLETE:
        return None
    return {"tracks": [_track(task, n, t, S.COMPLETE, APIFRAME_TRACK)
                       for n, t in visible_tracks(task)]}


def apiframe_job(task):
    status = APIFRAME_STATUS[task.status]
    return {
        "id": task.task_id,
        "status": status,
        "model": "suno",
        "progress": 100 if status == "COMPLETED" else task.progress,
        "result": apiframe_result(task),
        "error": task.error_message if task.status == S.FAILED else None,
        "creditCost": 0 if task.status == S.FAILED else 11,
        "webhookStatus": task.callbacks[-1]["status"] if task.callbacks else None,
        "createdAt": iso(task.created_at),
        "completedAt": iso(task.finished_at),
    }


def apiframe_webhook(task, event):
    body = {"event": event, "jobId": task.task_id, "model": "suno"}
    if event == "progress":
        return body | {"status": "PROCESSING", "progress": task.progress}
    if event == "failed":
        return body | {"status": "FAILED", "error": task.error_message}
    return body | {"status": "COMPLETED", "progress": 100, "result": apiframe_result(task)}
