// The ExCache's processor-local memory in the fast harness: an AXI4 subordinate in C++ on the ``lmem__*`` port
// of a system top whose ExCache keeps its line data there (hw/processor/line_store_axi.py, line_store="axi").
//
// Backing store: SparseMemory of axi_memory.h (4 KiB pages allocated on the first write of a non-zero byte), so
// a 128 MiB ExCache costs only the lines the run filled, and one compiled model serves any ExCache size.
//
// Timing (the same as sim_tests/excache/local_memory.py without backpressure): pipelined, several bursts of each
// kind in flight, in order. The first R beat of a burst is valid `latency` cycles after the cycle that follows
// the AR handshake, then one beat per cycle while rready; W beats are taken with, before or after their AW; the
// B response is valid `latency` cycles after the cycle that follows the last W beat. Every ready and valid is a
// function of this model's state only (never of the manager's outputs in the same cycle), so one eval() per
// cycle with the inputs set before it is exact. Responses OKAY, id 0.
//
// Use (emu/harness/driver.cpp): drive() before the eval of a cycle, sample() with the manager's outputs of that
// cycle (LS_*: the registered copies of hw.system.top.HarnessTop after the eval, or the ports before the edge).

#pragma once

#include <cstdint>
#include <deque>

#include "Vtop.h"
#include "harness_ports.h"
#include "axi_memory.h"

struct LocalMemoryStats {
    uint64_t read_bursts, write_bursts, read_beats, write_beats, pages, bytes;
};

class LocalMemory {
public:
    static constexpr unsigned BEAT = LMEM_DATA_W / 8;
    static constexpr size_t QUEUE = 64;   // bursts of each kind accepted ahead

    void configure(uint32_t latency) { latency_ = latency; }

    void drive(Vtop* t) {
        arready_ = reads_.size() < QUEUE;
        awready_ = aws_.size() < QUEUE;
        wready_ = wbeats_.size() < QUEUE;
        rvalid_ = !reads_.empty() && reads_.front().due <= cycle_;
        bvalid_ = !bresps_.empty() && bresps_.front() <= cycle_;
        t->L_arready = arready_;
        t->L_awready = awready_;
        t->L_wready = wready_;
        t->L_rvalid = rvalid_;
        t->L_rlast = rvalid_ && reads_.front().left == 1;
        t->L_rid = 0;
        t->L_rresp = 0;
        t->L_bvalid = bvalid_;
        t->L_bid = 0;
        t->L_bresp = 0;
        if (rvalid_) {
            uint32_t w[LMEM_DATA_WORDS];
            mem_.read(reads_.front().addr, reinterpret_cast<uint8_t*>(w), BEAT);
            store_lmem_rdata(t, w);
        }
    }

    void sample(const Vtop* t, bool rst) {
        cycle_++;
        if (rst) {
            reads_.clear(); aws_.clear(); wbeats_.clear(); bresps_.clear();
            return;
        }
        if (arready_ && LS_arvalid) {
            reads_.push_back({cycle_ + latency_, (uint64_t)LS_araddr, (uint32_t)LS_arlen + 1});
            st.read_bursts++;
        }
        if (rvalid_ && LS_rready) {
            Burst& r = reads_.front();
            r.addr += BEAT;
            st.read_beats++;
            if (--r.left == 0) reads_.pop_front();
        }
        if (awready_ && LS_awvalid) {
            aws_.push_back({0, (uint64_t)LS_awaddr, (uint32_t)LS_awlen + 1});
            st.write_bursts++;
        }
        if (wready_ && LS_wvalid) {
            WBeat b;
            load_lmem_wdata(t, b.w);
            b.strb = (uint64_t)LS_wstrb;
            wbeats_.push_back(b);
        }
        while (!aws_.empty() && !wbeats_.empty()) {
            Burst& a = aws_.front();
            const WBeat& b = wbeats_.front();
            mem_.write(a.addr, reinterpret_cast<const uint8_t*>(b.w), b.strb, BEAT);
            wbeats_.pop_front();
            st.write_beats++;
            a.addr += BEAT;
            if (--a.left == 0) {
                aws_.pop_front();
                bresps_.push_back(cycle_ + latency_);
            }
        }
        if (bvalid_ && LS_bready) bresps_.pop_front();
    }

    // No transaction in progress (for idle-cycle skipping: nothing here would change with time).
    bool idle() const { return reads_.empty() && aws_.empty() && wbeats_.empty() && bresps_.empty(); }

    // n idle cycles without sampling (idle-cycle skipping of the fill engine's cycles, driver.cpp): only the
    // cycle count moves.
    void advance(uint64_t n) { cycle_ += n; }

    LocalMemoryStats stats() const {
        LocalMemoryStats s = st;
        s.pages = mem_.pages();
        s.bytes = mem_.pages() * SparseMemory::PAGE;
        return s;
    }

private:
    struct Burst { uint64_t due, addr; uint32_t left; };
    struct WBeat { uint32_t w[LMEM_DATA_WORDS]; uint64_t strb; };

    SparseMemory mem_;
    LocalMemoryStats st{};
    std::deque<Burst> reads_, aws_;
    std::deque<WBeat> wbeats_;
    std::deque<uint64_t> bresps_;
    uint64_t cycle_ = 0;
    uint32_t latency_ = 0;
    bool arready_ = false, awready_ = false, wready_ = false, rvalid_ = false, bvalid_ = false;
};
