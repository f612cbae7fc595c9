"""hw.protocol: message kinds pair up and data-carrying rules hold."""

import pytest

from hw.protocol import DataBeat, MessagePort, MsgHeader, MsgKind, Status, carries_data, is_response, response_kind


def test_every_request_has_its_response():
    requests = [k for k in MsgKind if not is_response(k)]
    assert {response_kind(k) for k in requests} == {k for k in MsgKind if is_response(k)}
    assert response_kind(MsgKind.LINE_READ) is MsgKind.LINE_READ_RESP
    with pytest.raises(ValueError):
        response_kind(MsgKind.WORD_WRITE_RESP)


def test_data_beats_only_where_data_moves():
    assert carries_data(MsgKind.LINE_WRITE) and carries_data(MsgKind.WORD_WRITE)
    assert not carries_data(MsgKind.LINE_READ)
    assert carries_data(MsgKind.LINE_READ_RESP, Status.OK)
    assert not carries_data(MsgKind.LINE_READ_RESP, Status.PAGE_FAULT)
    assert not carries_data(MsgKind.LINE_WRITE_RESP)


def test_header_width_and_beat_validation():
    assert MsgHeader().size == 4 + 3 + 8 + 8 + 8 + 16 + 64 + 16
    assert DataBeat(64).size == 65
    with pytest.raises(TypeError, match="not 12"):
        DataBeat(12)
    assert MessagePort(64) == MessagePort(64) and MessagePort(64) != MessagePort(128)
