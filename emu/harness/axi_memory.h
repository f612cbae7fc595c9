// The fast harness's DRAM: an AXI4 subordinate in C++ on the memory component's DRAM port (``dram__*``,
// a top built with external_dram=True), in place of the RTL hw/memory/dram.py AxiDramModel.
//
// Backing store: sparse, 4 KiB pages in a hash map, allocated on the first write of a non-zero byte (a
// never-written byte reads as zero, as the RTL model's memory starts zeroed). A 64 GiB physical space costs
// only the pages the run wrote; firmware zero-filling a fresh frame allocates nothing.
//
// Timing: cycle for cycle the RTL AxiDramModel's (docs/timing.md, "DRAM"): a read pipeline of read_slots
// bursts (default DEFAULT_READ_SLOTS, the RTL's AxiDramModel.DEFAULT_READ_SLOTS), each counting its latency from
// its own AR handshake; a burst's first beat is valid latency + 1 cycles after its AR handshake or in the cycle
// after the previous burst's last beat if that is later, then one beat per cycle while the manager is ready.
// Writes go one at a time, never beside reads (AW only with no read in the pipeline; no AR during a write);
// reads win over writes when both address channels are valid in the same idle cycle; the write response is
// valid latency + 1 cycles after the last W beat. Addresses wrap modulo the size. Responses OKAY.
// Both models give identical results on the same run (sim_tests/harness/test_axi_memory.py).
//
// Fill engine: fill() writes an 8-byte pattern over a range at the DRAM's own speed (the memory component's
// memory controller serving the memory monitor's memset of a fresh frame, docs/system.md "Zero-filling frames"):
// it stops accepting read addresses, waits for the transactions in progress to end, then holds the port (no AR/AW accepted) for latency +
// ceil(length / bytes_per_cycle) cycles. The bytes are written when it starts: nothing can read them earlier.
//
// Use (emu/harness/driver.cpp): drive() before the falling-edge eval, settle() after it (re-eval if it
// returns true), sample() before the rising edge; or, with the registered samples of hw.system.top.HarnessTop
// (one eval() per cycle), drive() and settle() before the eval, sample() after it; configure() sets size and latency at run time, so one
// compiled model serves every DRAM size.

#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "Vtop.h"
#include "harness_ports.h"

class SparseMemory {
public:
    static constexpr uint64_t PAGE_BITS = 12;
    static constexpr uint64_t PAGE = 1ull << PAGE_BITS;

    // The page holding ``addr`` for reading (nullptr: never written, reads as zero).
    const uint8_t* find(uint64_t addr) {
        uint64_t no = addr >> PAGE_BITS;
        if (no == last_no_) return last_;
        auto it = pages_.find(no);
        if (it == pages_.end()) return nullptr;
        last_no_ = no;
        last_ = it->second.get();
        return last_;
    }

    // Read ``n`` bytes at ``addr`` (within one page).
    void read(uint64_t addr, uint8_t* dst, unsigned n) {
        const uint8_t* pg = find(addr);
        if (pg) std::memcpy(dst, pg + (addr & (PAGE - 1)), n);
        else std::memset(dst, 0, n);
    }

    // Write the bytes of ``src`` selected by ``strb`` (bit i: byte i) at ``addr`` (within one page).
    void write(uint64_t addr, const uint8_t* src, uint64_t strb, unsigned n) {
        uint8_t* pg = const_cast<uint8_t*>(find(addr));
        if (!pg) {
            bool nonzero = false;
            for (unsigned i = 0; i < n; i++) nonzero |= ((strb >> i) & 1) && src[i];
            if (!nonzero) return;        // zeros into a zero page: nothing to keep
            auto page = std::make_unique<uint8_t[]>(PAGE);   // value-initialised: zeroed
            pg = page.get();
            pages_.emplace(addr >> PAGE_BITS, std::move(page));
            last_no_ = addr >> PAGE_BITS;
            last_ = pg;
        }
        uint8_t* at = pg + (addr & (PAGE - 1));
        for (unsigned i = 0; i < n; i++)
            if ((strb >> i) & 1) at[i] = src[i];
    }

    // Write the 8-byte ``value`` (little-endian) repeated over ``[addr, addr + n)`` (8-byte aligned). Zeros over a
    // whole page drop it (it reads as zero again): zero-filled frames cost no host memory.
    void fill(uint64_t addr, uint64_t n, uint64_t value) {
        uint8_t pattern[8];
        std::memcpy(pattern, &value, 8);
        while (n) {
            uint64_t off = addr & (PAGE - 1);
            uint64_t take = PAGE - off < n ? PAGE - off : n;
            if (value == 0 && take == PAGE) {
                pages_.erase(addr >> PAGE_BITS);
                if (last_no_ == addr >> PAGE_BITS) { last_no_ = ~0ull; last_ = nullptr; }
            } else {
                for (uint64_t i = 0; i < take; i += 8) write(addr + i, pattern, 0xFF, 8);
            }
            addr += take;
            n -= take;
        }
    }

    uint64_t pages() const { return pages_.size(); }

private:
    std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
    uint64_t last_no_ = ~0ull;
    uint8_t* last_ = nullptr;
};

#if HARNESS_AXI_MEM   // SparseMemory above also backs the ExCache's local memory (local_memory.h)
struct AxiMemoryStats {
    uint64_t read_bursts, write_bursts, read_beats, write_beats, pages, bytes;
};

class AxiMemory {
public:
    static constexpr unsigned BEAT = AXI_DATA_W / 8;
    // Read bursts in flight by default: hw.memory.dram.AxiDramModel.DEFAULT_READ_SLOTS (a test compares them).
    static constexpr unsigned DEFAULT_READ_SLOTS = 4;
    static constexpr unsigned MAX_READ_SLOTS = 16;

    // Until configure(): the whole AXI address space (at most 2**63 bytes), no extra latency.
    AxiMemory() { configure(1ull << (AXI_ADDR_W < 63 ? AXI_ADDR_W : 63), 0); }

    void configure(uint64_t size_bytes, uint32_t latency, unsigned read_slots = DEFAULT_READ_SLOTS) {
        size_ = size_bytes;
        words_ = size_bytes / BEAT;
        latency_ = latency;
        slots_ = read_slots < 1 ? 1 : read_slots > MAX_READ_SLOTS ? MAX_READ_SLOTS : read_slots;
    }

    bool configured() const { return words_ != 0; }

    // Ask for a fill of ``length`` bytes of ``value`` at ``addr`` (both multiples of 8) at ``bytes_per_cycle``
    // (> 0); busy() until it is done. At most one at a time (returns false if one is pending or running).
    bool fill(uint64_t addr, uint64_t length, uint64_t value, uint32_t bytes_per_cycle) {
        if (fill_pending_ || filling_ || bytes_per_cycle == 0) return false;
        fill_addr_ = addr % size_;
        fill_len_ = length;
        fill_value_ = value;
        fill_cycles_ = latency_ + (length + bytes_per_cycle - 1) / bytes_per_cycle;
        fill_pending_ = true;
        if (idle()) start_fill();
        return true;
    }

    // A fill asked for and not finished.
    bool busy() const { return fill_pending_ || filling_; }

    // Only the fill engine at work (no read or write transaction, none waiting): every ready and valid is low and
    // stays so until the fill's last cycle; fill_left() cycles to go, advance_fill(n) counts n of them down
    // without sampling (idle-cycle skipping of h_dram_fill, driver.cpp; n < fill_left()).
    bool fill_only() const { return filling_ && !fill_pending_ && count_ == 0 && ws_ == W_IDLE; }
    uint64_t fill_left() const { return filling_ ? fill_left_ : 0; }
    void advance_fill(uint64_t n) { fill_left_ -= n; }

    // Fills done by the engine and the bytes they wrote (kept apart from AxiMemoryStats, whose six counters
    // the drivers copy as they are).
    uint64_t fills() const { return fills_; }
    uint64_t fill_bytes() const { return fill_bytes_; }

    // Outputs of this cycle, from the state (and, for awready, the manager's arvalid as last seen).
    void drive(Vtop* t) {
        const ReadSlot& h = rq_[head_];
        bool rvalid = r_valid();
        t->D_arready = ar_ready();
        t->D_awready = idle() && !seen_arvalid_;
        t->D_wready = ws_ == W_DATA;
        t->D_rvalid = rvalid;
        t->D_rlast = rvalid && h.left == 0;
        t->D_rid = h.tid;
        t->D_bid = wtid_;
        t->D_rresp = 0;     // OKAY
        t->D_bresp = 0;
        t->D_bvalid = ws_ == B_RESP;
        if (rvalid) {
            uint32_t w[AXI_DATA_WORDS];
            mem_.read(h.idx * BEAT, reinterpret_cast<uint8_t*>(w), BEAT);
            store_axi_rdata(t, w);
        }
    }

    // After the falling-edge eval: awready depends on arvalid in the idle state (reads win). Returns true if
    // it had to change an input, so that the caller evaluates the model again.
    bool settle(Vtop* t) {
        if (!idle()) return false;
        bool arvalid = t->D_arvalid;
        if (arvalid == seen_arvalid_) return false;
        seen_arvalid_ = arvalid;
        t->D_awready = !arvalid;
        return true;
    }

    // The handshakes of this cycle decide the next state: called before the rising edge, or after it when the
    // manager's outputs are read from the registered copies of hw.system.top.HarnessTop (DS_*, harness_ports.h).
    void sample(const Vtop* t, bool rst) {
        if (rst) {
            ws_ = W_IDLE; filling_ = false; seen_arvalid_ = false; head_ = 0; count_ = 0; wtid_ = 0;
            for (ReadSlot& r : rq_) r = ReadSlot{};
            return;
        }
        // Every outcome from the state of this cycle (as drive() showed it), then the updates.
        bool was_idle = idle();
        bool accept = t->DS_arvalid && ar_ready();
        bool beat = r_valid() && t->DS_rready;
        bool write_starts = was_idle && !t->DS_arvalid && t->DS_awvalid;
        for (unsigned i = 0, k = head_; i < count_; i++, k = next(k))   // latencies count in parallel
            if (rq_[k].wait) rq_[k].wait--;
        if (beat) {
            ReadSlot& h = rq_[head_];
            st.read_beats++;
            if (h.left == 0) { head_ = next(head_); count_--; }
            else { h.idx = (h.idx + 1) % words_; h.left--; }
        }
        if (accept) {
            unsigned k = (head_ + count_) % slots_;
            rq_[k] = ReadSlot{word(t->DS_araddr), (uint8_t)t->DS_arlen, (uint32_t)t->DS_arid, latency_};
            count_++;
            st.read_bursts++;
        }
        switch (ws_) {
        case W_IDLE:
            if (write_starts) {
                widx_ = word(t->DS_awaddr);
                wtid_ = t->DS_awid;
                wait_ = latency_;
                ws_ = W_DATA;
                st.write_bursts++;
            }
            break;
        case W_DATA:
            if (t->DS_wvalid) {
                uint32_t w[AXI_DATA_WORDS];
                load_axi_wdata(t, w);
                mem_.write(widx_ * BEAT, reinterpret_cast<const uint8_t*>(w), (uint64_t)t->DS_wstrb, BEAT);
                st.write_beats++;
                widx_ = (widx_ + 1) % words_;
                if (t->DS_wlast) ws_ = latency_ ? B_WAIT : B_RESP;
            }
            break;
        case B_WAIT:
            if (wait_ == 1) ws_ = B_RESP;
            wait_--;
            break;
        case B_RESP:
            if (t->DS_bready) ws_ = W_IDLE;
            break;
        }
        if (filling_ && --fill_left_ == 0) filling_ = false;
        if (idle() && fill_pending_) start_fill();   // after the transactions that were in progress
        if (!idle()) seen_arvalid_ = false;   // re-learnt when idle again
    }

    // Whether awready was decided with the arvalid the manager really had in the cycle just sampled (a driver
    // that sets awready before evaluating the cycle uses the arvalid settled after the last edge).
    bool consistent(const Vtop* t) const { return !idle() || seen_arvalid_ == (bool)t->DS_arvalid; }

    // No transaction in progress (and none accepted): the outputs stay as they are while the manager's do.
    bool idle() const { return count_ == 0 && ws_ == W_IDLE && !filling_; }

    AxiMemoryStats stats() const {
        AxiMemoryStats s = st;
        s.pages = mem_.pages();
        s.bytes = mem_.pages() * SparseMemory::PAGE;
        return s;
    }

private:
    enum WState { W_IDLE, W_DATA, B_WAIT, B_RESP };
    struct ReadSlot {
        uint64_t idx = 0;       // word of the burst's current beat
        uint8_t left = 0;       // beats after the current one (8 bits, as the RTL's)
        uint32_t tid = 0;
        uint32_t wait = 0;      // latency cycles still to go
    };

    // A free read slot, no write in progress, no fill asked for (a fill waits for the reads in flight only).
    bool ar_ready() const { return count_ < slots_ && ws_ == W_IDLE && !filling_ && !fill_pending_; }
    bool r_valid() const { return count_ != 0 && rq_[head_].wait == 0; }
    unsigned next(unsigned k) const { return k + 1 == slots_ ? 0 : k + 1; }

    void start_fill() {
        fill_pending_ = false;
        mem_.fill(fill_addr_, fill_len_ < size_ - fill_addr_ ? fill_len_ : size_ - fill_addr_, fill_value_);
        fill_left_ = fill_cycles_;
        filling_ = fill_left_ != 0;
        seen_arvalid_ = false;
        fills_++;
        fill_bytes_ += fill_len_;
    }

    uint64_t word(uint64_t addr) const { return (addr % size_) / BEAT; }

    SparseMemory mem_;
    AxiMemoryStats st{};
    ReadSlot rq_[MAX_READ_SLOTS];
    unsigned head_ = 0, count_ = 0, slots_ = DEFAULT_READ_SLOTS;
    WState ws_ = W_IDLE;
    uint64_t size_ = 0, words_ = 0, widx_ = 0;
    uint32_t latency_ = 0, wait_ = 0;
    uint32_t wtid_ = 0;
    bool seen_arvalid_ = false;
    bool fill_pending_ = false, filling_ = false;
    uint64_t fill_addr_ = 0, fill_len_ = 0, fill_value_ = 0, fill_cycles_ = 0, fill_left_ = 0;
    uint64_t fills_ = 0, fill_bytes_ = 0;
};
#endif  // HARNESS_AXI_MEM
