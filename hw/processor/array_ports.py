"""Request ports of the ExCache's tag, replacement and data arrays, and the merge of several requesters.

Every block of the controller that touches an array does it through one of these signatures (seen from
the requester: all members ``Out``). A request acts only in a cycle where its ``en`` is non-zero; the
controller merges the requesters of one array port with :func:`merge_requests`, which relies on the
controller's sequencing to enable at most one of them per cycle.

The tag and replacement arrays are synchronous block RAMs: a read enabled at an edge shows its data after
that edge and holds it until the next enabled read; a write lands at the edge. Tag and replacement reads
are transparent to same-cycle writes of the same set.

The line data has two stores (``ExCacheParams.line_store``): :class:`~hw.processor.line_data.LineData`
(block RAM, the same timing as the other arrays) and :class:`~hw.processor.line_store_axi.AxiLineStore`
(processor-local memory on an AXI4 port). Their request ports therefore carry a ``ready`` (In): a request
holds ``en`` and its fields until ``ready`` (LineData's is always high), and a ``line`` flag marking the
words of a whole-line move (a fill, a write-back), which the AXI store turns into bursts. Read data comes
with a ``valid`` and is taken with a ``ready`` beside the request ports (see the stores).
"""

from amaranth import Mux, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.processor.excache_layouts import TagEntry
from hw.processor.replacement import state_width

__all__ = ["TagSet", "TagReadSignature", "TagWriteSignature", "ReplWriteSignature", "DataReadSignature",
           "DataWriteSignature", "LineEventSignature", "merge_requests", "entry_of"]


def _set_width(params):
    return max(1, params.index_bits)


class TagSet(data.ArrayLayout):
    """The tag entries of all ways of one set, way 0 first."""

    def __init__(self, params):
        super().__init__(TagEntry(params), params.ways)


class TagReadSignature(wiring.Signature):
    """Read the tags (and replacement state) of ``set``: they appear on the store's outputs after the edge."""

    def __init__(self, params):
        super().__init__({"set": Out(_set_width(params)), "en": Out(1)})


class TagWriteSignature(wiring.Signature):
    """Write ``data[i]`` into way ``i`` of ``set`` for every bit ``i`` of ``en``."""

    def __init__(self, params):
        super().__init__({"set": Out(_set_width(params)), "en": Out(params.ways), "data": Out(TagSet(params))})


class ReplWriteSignature(wiring.Signature):
    """Write the replacement state of ``set`` (``hw.processor.replacement`` encoding)."""

    def __init__(self, params):
        super().__init__({"set": Out(_set_width(params)), "en": Out(1),
                          "data": Out(max(1, state_width(params)))})


class DataReadSignature(wiring.Signature):
    """Read data word ``word`` of the line in (``set``, ``way``), or with ``line`` the whole line from word 0
    (one request, ``words_per_line`` words of read data; the onchip store reads one word per request and
    ignores ``line``). The request is taken in a cycle with ``en`` and ``ready``."""

    def __init__(self, params):
        super().__init__({"set": Out(_set_width(params)), "way": Out(params.way_bits),
                          "word": Out(max(1, params.word_bits)), "line": Out(1), "en": Out(1),
                          "ready": In(1)})


class DataWriteSignature(wiring.Signature):
    """Write the bytes of ``data`` selected by ``en`` into word ``word`` of the line in (``set``, ``way``);
    ``line``: the word is one of a whole-line write, issued word 0 first. Taken with ``en`` and ``ready``."""

    def __init__(self, params):
        super().__init__({"set": Out(_set_width(params)), "way": Out(params.way_bits),
                          "word": Out(max(1, params.word_bits)), "line": Out(1), "data": Out(params.data_width),
                          "en": Out(params.data_width // 8), "ready": In(1)})


class LineEventSignature(wiring.Signature):
    """Pulse ``en``: the line in (``set``, ``way``) was accessed (a hit) or installed (a fill)."""

    def __init__(self, params):
        super().__init__({"en": Out(1), "set": Out(_set_width(params)), "way": Out(params.way_bits)})


def merge_requests(m, target, requests, *, fallback=False, owner=None):
    """Drive request port ``target`` from the first of ``requests`` whose ``en`` is non-zero (else all 0).

    ``target`` is the array's (flipped) port, ``requests`` the requesters' ports of the same signature. Members
    flowing back to the requesters (a ``ready``) go to every requester (each looks at it only with ``en``).
    With ``fallback`` the last request drives ``target`` (its ``en`` included) whenever no earlier one is
    enabled: the multiplexer's select then depends only on the earlier requesters' enables, not on the last
    one's (issue 18: the hit pipeline's enables come from the tag compare, its addresses do not).
    With ``owner`` (a 1-bit value) the last request drives ``target`` whenever ``owner`` is high and only
    then, the earlier ones are merged as above while it is low: the select of the last one is ``owner``
    alone, and the earlier requesters' enables are no longer on its path to the array (issue 18: the hit
    pipeline owns the arrays exactly while the sequencer's registered state is RUN).
    """
    members = requests[0].signature.members
    names = [n for n, mb in members.items() if mb.flow == Out]
    if owner is not None:
        with m.If(owner):
            m.d.comb += [getattr(target, n).eq(getattr(requests[-1], n)) for n in names]
        with m.Else():
            _merge(m, target, requests[:-1], names, fallback)
    else:
        _merge(m, target, requests, names, fallback)
    for n, mb in members.items():
        if mb.flow == In:
            m.d.comb += [getattr(req, n).eq(getattr(target, n)) for req in requests]


def _merge(m, target, requests, names, fallback):
    if len(requests) == 1:
        if fallback:
            m.d.comb += [getattr(target, n).eq(getattr(requests[0], n)) for n in names]
        else:
            with m.If(requests[0].en.any()):
                m.d.comb += [getattr(target, n).eq(getattr(requests[0], n)) for n in names]
        return
    with m.If(requests[0].en.any()):
        m.d.comb += [getattr(target, n).eq(getattr(requests[0], n)) for n in names]
    for i, req in enumerate(requests[1:], 1):
        if fallback and i == len(requests) - 1:
            with m.Else():
                m.d.comb += [getattr(target, n).eq(getattr(req, n)) for n in names]
        else:
            with m.Elif(req.en.any()):
                m.d.comb += [getattr(target, n).eq(getattr(req, n)) for n in names]


def entry_of(ways, way, params):
    """The TagEntry of way ``way`` (a Value) in the TagSet view ``ways``."""
    if params.ways == 1:
        return ways[0]
    way = Value.cast(way)
    if len(way) <= (params.ways - 1).bit_length() and params.ways & (params.ways - 1) == 0:
        # Every value of ``way`` names a way: a mux over the ways gives the same entry as ``ways[way]``, whose
        # variable shift of the whole packed set was a multi-word shift at every cycle in the Verilated
        # model (issue 12).
        sel = ways[0].as_value()
        for i in range(1, params.ways):
            sel = Mux(way == i, ways[i].as_value(), sel)
        return ways.shape().elem_shape(sel)
    return ways[way]

