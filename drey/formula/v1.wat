;; Drey formula v1 (PROTOCOL.md §6), exact integer arithmetic, no imports, no floats.
;;
;; ABI: exports memory, alloc(len) -> ptr, allocate(in_ptr, rows, pool, out_ptr) -> status.
;; Input rows are 20 bytes little-endian (user_id u64, sat_blocks u64, age u32); output rows
;; are u64 LE dreybits. Status 0 = success; nonzero = no answer (see docs/protocol/formula.md):
;;   1 rows < 0        2 pool < 0        3 input/output range outside memory
;;   4 scratch memory could not be allocated (memory limit)
;;   6 selection did not converge (unreachable: keys are unique)
;;
;; Arithmetic: weight w = sat * (24 + min(age, 24)) < 2^64 * 48 < 2^70 (two i64 words);
;; W = sum w < 2^31 * 2^70 = 2^101 (rows is a positive i32), kept as 128 bits (hi, lo);
;; P = pool * w < 2^63 * 2^70 = 2^133, as 32-bit limbs in i64 slots. q = P / W fits in 64 bits
;; because w <= W implies q <= pool < 2^63, so Knuth's algorithm D with 32-bit digits needs
;; exactly two quotient digits per row (the divisor normalised once per call). Remainders are
;; kept normalised (r << s): the common shift preserves their order, which is all the
;; remainder distribution needs.
;;
;; Remainder distribution: k = pool - sum q rows get +1, the k greatest by the key
;; (remainder desc, user_id asc, row index asc). Instead of a full sort, an MSD radix
;; *selection* over 16-bit digits of the key (remainder ‖ ~user_id ‖ ~index) narrows the
;; candidates pass by pass: O(rows) per pass, at most 2*limbs(W) + 6 passes, deterministic
;; worst case, no recursion.

(module
  (memory (export "memory") 1)

  ;; Scratch at fixed addresses below the heap: U (dividend limbs, 8 x i64) at 0,
  ;; V (normalised divisor limbs, 4 x i64) at 128. The bump heap starts at 1024.
  (global $heap (mut i32) (i32.const 1024))

  (func $alloc (export "alloc") (param $len i32) (result i32)
    (local $p i64) (local $end i64) (local $size i64)
    (if (i32.lt_s (local.get $len) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $p
      (i64.and (i64.add (i64.extend_i32_u (global.get $heap)) (i64.const 7)) (i64.const -8)))
    (local.set $end (i64.add (local.get $p) (i64.extend_i32_u (local.get $len))))
    (if (i64.gt_u (local.get $end) (i64.const 0xFFFF0000)) (then (return (i32.const 0))))
    (local.set $size (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $size))
      (then
        (if (i32.eq
              (memory.grow
                (i32.wrap_i64
                  (i64.shr_u
                    (i64.add (i64.sub (local.get $end) (local.get $size)) (i64.const 65535))
                    (i64.const 16))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (i32.wrap_i64 (local.get $end)))
    (i32.wrap_i64 (local.get $p)))

  ;; w = sat * (24 + min(age, 24)) as (hi, lo); hi < 48.
  (func $weight (param $rec i32) (result i64 i64)
    (local $sat i64) (local $age i32) (local $m i64) (local $a i64) (local $b i64) (local $lo i64)
    (local.set $sat (i64.load offset=8 align=1 (local.get $rec)))
    (local.set $age (i32.load offset=16 align=1 (local.get $rec)))
    (local.set $m
      (i64.add (i64.const 24)
        (select (i64.extend_i32_u (local.get $age)) (i64.const 24)
          (i32.lt_u (local.get $age) (i32.const 24)))))
    (local.set $a (i64.mul (i64.and (local.get $sat) (i64.const 0xFFFFFFFF)) (local.get $m)))
    (local.set $b (i64.mul (i64.shr_u (local.get $sat) (i64.const 32)) (local.get $m)))
    (local.set $lo (i64.add (i64.shl (local.get $b) (i64.const 32)) (local.get $a)))
    (i64.add (i64.shr_u (local.get $b) (i64.const 32))
      (i64.extend_i32_u (i64.lt_u (local.get $lo) (local.get $a))))
    (local.get $lo))

  ;; U[0..5] = (pool * w) << s as 32-bit limbs (little-endian limb order).
  (func $mulshift (param $whi i64) (param $wlo i64) (param $pool i64) (param $s i64)
    (local $p0 i64) (local $p1 i64) (local $w0 i64) (local $w1 i64) (local $w2 i64)
    (local $t i64) (local $c i64)
    (local $r0 i64) (local $r1 i64) (local $r2 i64) (local $r3 i64) (local $r4 i64)
    (local $rs i64)
    (local.set $p0 (i64.and (local.get $pool) (i64.const 0xFFFFFFFF)))
    (local.set $p1 (i64.shr_u (local.get $pool) (i64.const 32)))
    (local.set $w0 (i64.and (local.get $wlo) (i64.const 0xFFFFFFFF)))
    (local.set $w1 (i64.shr_u (local.get $wlo) (i64.const 32)))
    (local.set $w2 (local.get $whi))
    ;; row p0
    (local.set $t (i64.mul (local.get $p0) (local.get $w0)))
    (local.set $r0 (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
    (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
    (local.set $t (i64.add (i64.mul (local.get $p0) (local.get $w1)) (local.get $c)))
    (local.set $r1 (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
    (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
    (local.set $t (i64.add (i64.mul (local.get $p0) (local.get $w2)) (local.get $c)))
    (local.set $r2 (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
    (local.set $r3 (i64.shr_u (local.get $t) (i64.const 32)))
    ;; row p1 (each step <= (2^32-1)^2 + 2(2^32-1) = 2^64 - 1: no overflow)
    (local.set $t (i64.add (i64.mul (local.get $p1) (local.get $w0)) (local.get $r1)))
    (local.set $r1 (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
    (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
    (local.set $t
      (i64.add (i64.add (i64.mul (local.get $p1) (local.get $w1)) (local.get $r2)) (local.get $c)))
    (local.set $r2 (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
    (local.set $c (i64.shr_u (local.get $t) (i64.const 32)))
    (local.set $t
      (i64.add (i64.add (i64.mul (local.get $p1) (local.get $w2)) (local.get $r3)) (local.get $c)))
    (local.set $r3 (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
    (local.set $r4 (i64.shr_u (local.get $t) (i64.const 32)))
    ;; shift left by s (0..31); limbs are < 2^32 so ">> (32 - s)" is 0 when s = 0.
    (local.set $rs (i64.sub (i64.const 32) (local.get $s)))
    (i64.store offset=0 (i32.const 0)
      (i64.and (i64.shl (local.get $r0) (local.get $s)) (i64.const 0xFFFFFFFF)))
    (i64.store offset=8 (i32.const 0)
      (i64.and (i64.or (i64.shl (local.get $r1) (local.get $s))
                       (i64.shr_u (local.get $r0) (local.get $rs))) (i64.const 0xFFFFFFFF)))
    (i64.store offset=16 (i32.const 0)
      (i64.and (i64.or (i64.shl (local.get $r2) (local.get $s))
                       (i64.shr_u (local.get $r1) (local.get $rs))) (i64.const 0xFFFFFFFF)))
    (i64.store offset=24 (i32.const 0)
      (i64.and (i64.or (i64.shl (local.get $r3) (local.get $s))
                       (i64.shr_u (local.get $r2) (local.get $rs))) (i64.const 0xFFFFFFFF)))
    (i64.store offset=32 (i32.const 0)
      (i64.and (i64.or (i64.shl (local.get $r4) (local.get $s))
                       (i64.shr_u (local.get $r3) (local.get $rs))) (i64.const 0xFFFFFFFF)))
    (i64.store offset=40 (i32.const 0) (i64.shr_u (local.get $r4) (local.get $rs))))

  ;; One step of Knuth D (Hacker's Delight divmnu): quotient digit j of U by V (nl limbs),
  ;; updating U in place. Requires U[j..j+nl] < b * V.
  (func $dstep (param $j i32) (param $nl i32) (param $vtop i64) (param $vsec i64) (result i64)
    (local $num i64) (local $qhat i64) (local $rhat i64) (local $i i32) (local $p i64)
    (local $t i64) (local $k i64) (local $a i32)
    (local.set $num
      (i64.or
        (i64.shl (i64.load (i32.shl (i32.add (local.get $j) (local.get $nl)) (i32.const 3)))
                 (i64.const 32))
        (i64.load
          (i32.shl (i32.sub (i32.add (local.get $j) (local.get $nl)) (i32.const 1)) (i32.const 3)))))
    (local.set $qhat (i64.div_u (local.get $num) (local.get $vtop)))
    (local.set $rhat (i64.sub (local.get $num) (i64.mul (local.get $qhat) (local.get $vtop))))
    (block $est
      (loop $again
        (if (i64.ge_u (local.get $qhat) (i64.const 0x100000000))
          (then
            (local.set $qhat (i64.sub (local.get $qhat) (i64.const 1)))
            (local.set $rhat (i64.add (local.get $rhat) (local.get $vtop)))
            (br_if $again (i64.lt_u (local.get $rhat) (i64.const 0x100000000)))
            (br $est)))
        (br_if $est (i32.lt_u (local.get $nl) (i32.const 2)))
        ;; qhat < b and rhat < b here: both sides fit in 64 bits.
        (if (i64.gt_u
              (i64.mul (local.get $qhat) (local.get $vsec))
              (i64.or
                (i64.shl (local.get $rhat) (i64.const 32))
                (i64.load
                  (i32.shl (i32.sub (i32.add (local.get $j) (local.get $nl)) (i32.const 2))
                           (i32.const 3)))))
          (then
            (local.set $qhat (i64.sub (local.get $qhat) (i64.const 1)))
            (local.set $rhat (i64.add (local.get $rhat) (local.get $vtop)))
            (br_if $again (i64.lt_u (local.get $rhat) (i64.const 0x100000000)))))))
    ;; multiply and subtract
    (local.set $k (i64.const 0))
    (local.set $i (i32.const 0))
    (block $ms_done
      (loop $ms
        (br_if $ms_done (i32.ge_u (local.get $i) (local.get $nl)))
        (local.set $p
          (i64.mul (local.get $qhat)
                   (i64.load offset=128 (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $a (i32.shl (i32.add (local.get $i) (local.get $j)) (i32.const 3)))
        (local.set $t
          (i64.sub (i64.sub (i64.load (local.get $a)) (local.get $k))
                   (i64.and (local.get $p) (i64.const 0xFFFFFFFF))))
        (i64.store (local.get $a) (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
        (local.set $k
          (i64.sub (i64.shr_u (local.get $p) (i64.const 32))
                   (i64.shr_s (local.get $t) (i64.const 32))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $ms)))
    (local.set $a (i32.shl (i32.add (local.get $j) (local.get $nl)) (i32.const 3)))
    (local.set $t (i64.sub (i64.load (local.get $a)) (local.get $k)))
    (i64.store (local.get $a) (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
    (if (i64.lt_s (local.get $t) (i64.const 0))
      (then
        ;; qhat was one too large: add V back.
        (local.set $qhat (i64.sub (local.get $qhat) (i64.const 1)))
        (local.set $k (i64.const 0))
        (local.set $i (i32.const 0))
        (block $ab_done
          (loop $ab
            (br_if $ab_done (i32.ge_u (local.get $i) (local.get $nl)))
            (local.set $a (i32.shl (i32.add (local.get $i) (local.get $j)) (i32.const 3)))
            (local.set $t
              (i64.add
                (i64.add (i64.load (local.get $a))
                         (i64.load offset=128 (i32.shl (local.get $i) (i32.const 3))))
                (local.get $k)))
            (i64.store (local.get $a) (i64.and (local.get $t) (i64.const 0xFFFFFFFF)))
            (local.set $k (i64.shr_u (local.get $t) (i64.const 32)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $ab)))
        (local.set $a (i32.shl (i32.add (local.get $j) (local.get $nl)) (i32.const 3)))
        (i64.store (local.get $a)
          (i64.and (i64.add (i64.load (local.get $a)) (local.get $k)) (i64.const 0xFFFFFFFF)))))
    (local.get $qhat))

  ;; 16-bit digit of row c's selection key for source src (0 remainder hi word,
  ;; 1 remainder lo word, 2 ~user_id, 3 ~index) shifted right by sh.
  (func $digit (param $c i32) (param $src i32) (param $sh i64) (param $in i32) (param $rem i32)
               (result i32)
    (local $w i64)
    (block $got
      (block $idx
        (block $uid
          (block $lo
            (block $hi
              (br_table $hi $lo $uid $idx (local.get $src)))
            (local.set $w
              (i64.load offset=8
                (i32.add (local.get $rem) (i32.shl (local.get $c) (i32.const 4)))))
            (br $got))
          (local.set $w
            (i64.load (i32.add (local.get $rem) (i32.shl (local.get $c) (i32.const 4)))))
          (br $got))
        (local.set $w
          (i64.xor
            (i64.load align=1
              (i32.add (local.get $in) (i32.mul (local.get $c) (i32.const 20))))
            (i64.const -1)))
        (br $got))
      (local.set $w (i64.xor (i64.extend_i32_u (local.get $c)) (i64.const 0xFFFFFFFF))))
    (i32.wrap_i64 (i64.and (i64.shr_u (local.get $w) (local.get $sh)) (i64.const 0xFFFF))))

  (func $bump (param $out i32) (param $c i32)
    (local $a i32)
    (local.set $a (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 3))))
    (i64.store align=1 (local.get $a) (i64.add (i64.load align=1 (local.get $a)) (i64.const 1))))

  (func $allocate (export "allocate")
        (param $in i32) (param $rows i32) (param $pool i64) (param $out i32) (result i32)
    (local $i i32) (local $rec i32) (local $mem i64)
    (local $whi i64) (local $wlo i64) (local $Whi i64) (local $Wlo i64)
    (local $w0 i64) (local $w1 i64) (local $w2 i64) (local $w3 i64)
    (local $nl i32) (local $top i64) (local $s i64) (local $rs i64)
    (local $vtop i64) (local $vsec i64)
    (local $q i64) (local $sumq i64) (local $rem i32) (local $a i32)
    (local $cand i32) (local $hist i32) (local $need i32) (local $ncand i32)
    (local $p i32) (local $npass i32) (local $src i32) (local $sh i64) (local $lob i32)
    (local $x i32) (local $c i32) (local $d i32) (local $dg i32) (local $acc i32) (local $h i32)
    (local $m i32)
    (if (i32.lt_s (local.get $rows) (i32.const 0)) (then (return (i32.const 1))))
    (if (i64.lt_s (local.get $pool) (i64.const 0)) (then (return (i32.const 2))))
    (if (i32.eqz (local.get $rows)) (then (return (i32.const 0))))
    (local.set $mem (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u
          (i64.add (i64.extend_i32_u (local.get $in))
                   (i64.mul (i64.extend_i32_u (local.get $rows)) (i64.const 20)))
          (local.get $mem))
      (then (return (i32.const 3))))
    (if (i64.gt_u
          (i64.add (i64.extend_i32_u (local.get $out))
                   (i64.mul (i64.extend_i32_u (local.get $rows)) (i64.const 8)))
          (local.get $mem))
      (then (return (i32.const 3))))

    ;; Pass 1: W = sum of weights (cannot overflow 128 bits, see header).
    (local.set $i (i32.const 0))
    (local.set $rec (local.get $in))
    (block $w_done
      (loop $w_loop
        (br_if $w_done (i32.ge_u (local.get $i) (local.get $rows)))
        (call $weight (local.get $rec))
        (local.set $wlo)
        (local.set $whi)
        (local.set $Wlo (i64.add (local.get $Wlo) (local.get $wlo)))
        (local.set $Whi
          (i64.add (i64.add (local.get $Whi) (local.get $whi))
                   (i64.extend_i32_u (i64.lt_u (local.get $Wlo) (local.get $wlo)))))
        (local.set $rec (i32.add (local.get $rec) (i32.const 20)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $w_loop)))

    (if (i64.eqz (i64.or (local.get $Whi) (local.get $Wlo)))
      (then
        (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $rows) (i32.const 3)))
        (return (i32.const 0))))

    ;; Normalise the divisor: nl limbs, top limb shifted so its bit 31 is set.
    (local.set $w0 (i64.and (local.get $Wlo) (i64.const 0xFFFFFFFF)))
    (local.set $w1 (i64.shr_u (local.get $Wlo) (i64.const 32)))
    (local.set $w2 (i64.and (local.get $Whi) (i64.const 0xFFFFFFFF)))
    (local.set $w3 (i64.shr_u (local.get $Whi) (i64.const 32)))
    (local.set $nl (i32.const 1))
    (local.set $top (local.get $w0))
    (if (i64.ne (local.get $w1) (i64.const 0))
      (then (local.set $nl (i32.const 2)) (local.set $top (local.get $w1))))
    (if (i64.ne (local.get $w2) (i64.const 0))
      (then (local.set $nl (i32.const 3)) (local.set $top (local.get $w2))))
    (if (i64.ne (local.get $w3) (i64.const 0))
      (then (local.set $nl (i32.const 4)) (local.set $top (local.get $w3))))
    (local.set $s (i64.sub (i64.clz (local.get $top)) (i64.const 32)))
    (local.set $rs (i64.sub (i64.const 32) (local.get $s)))
    (i64.store offset=128 (i32.const 0)
      (i64.and (i64.shl (local.get $w0) (local.get $s)) (i64.const 0xFFFFFFFF)))
    (i64.store offset=136 (i32.const 0)
      (i64.and (i64.or (i64.shl (local.get $w1) (local.get $s))
                       (i64.shr_u (local.get $w0) (local.get $rs))) (i64.const 0xFFFFFFFF)))
    (i64.store offset=144 (i32.const 0)
      (i64.and (i64.or (i64.shl (local.get $w2) (local.get $s))
                       (i64.shr_u (local.get $w1) (local.get $rs))) (i64.const 0xFFFFFFFF)))
    (i64.store offset=152 (i32.const 0)
      (i64.and (i64.or (i64.shl (local.get $w3) (local.get $s))
                       (i64.shr_u (local.get $w2) (local.get $rs))) (i64.const 0xFFFFFFFF)))
    (local.set $vtop
      (i64.load offset=128 (i32.shl (i32.sub (local.get $nl) (i32.const 1)) (i32.const 3))))
    (if (i32.ge_u (local.get $nl) (i32.const 2))
      (then
        (local.set $vsec
          (i64.load offset=128 (i32.shl (i32.sub (local.get $nl) (i32.const 2)) (i32.const 3))))))

    ;; Scratch: normalised remainders, 16 bytes per row.
    (if (i32.gt_u (local.get $rows) (i32.const 0x07FFFFFF)) (then (return (i32.const 4))))
    (local.set $rem (call $alloc (i32.shl (local.get $rows) (i32.const 4))))
    (if (i32.eqz (local.get $rem)) (then (return (i32.const 4))))

    ;; Pass 2: q = floor(pool * w / W), remainder kept normalised.
    (local.set $i (i32.const 0))
    (local.set $rec (local.get $in))
    (block $q_done
      (loop $q_loop
        (br_if $q_done (i32.ge_u (local.get $i) (local.get $rows)))
        (call $weight (local.get $rec))
        (local.set $wlo)
        (local.set $whi)
        (call $mulshift (local.get $whi) (local.get $wlo) (local.get $pool) (local.get $s))
        (local.set $q
          (i64.shl (call $dstep (i32.const 1) (local.get $nl) (local.get $vtop) (local.get $vsec))
                   (i64.const 32)))
        (local.set $q
          (i64.or (local.get $q)
                  (call $dstep (i32.const 0) (local.get $nl) (local.get $vtop) (local.get $vsec))))
        (i64.store align=1
          (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))) (local.get $q))
        (local.set $sumq (i64.add (local.get $sumq) (local.get $q)))
        (local.set $a (i32.add (local.get $rem) (i32.shl (local.get $i) (i32.const 4))))
        (i64.store (local.get $a)
          (i64.or (i64.load offset=0 (i32.const 0))
                  (i64.shl (i64.load offset=8 (i32.const 0)) (i64.const 32))))
        (i64.store offset=8 (local.get $a)
          (i64.or (i64.load offset=16 (i32.const 0))
                  (i64.shl (i64.load offset=24 (i32.const 0)) (i64.const 32))))
        (local.set $rec (i32.add (local.get $rec) (i32.const 20)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $q_loop)))

    ;; k = pool - sum q < rows rows get one more Dreybit.
    (local.set $need (i32.wrap_i64 (i64.sub (local.get $pool) (local.get $sumq))))
    (if (i32.eqz (local.get $need)) (then (return (i32.const 0))))
    (local.set $cand (call $alloc (i32.shl (local.get $rows) (i32.const 2))))
    (if (i32.eqz (local.get $cand)) (then (return (i32.const 4))))
    (local.set $hist (call $alloc (i32.const 262144)))
    (if (i32.eqz (local.get $hist)) (then (return (i32.const 4))))
    (local.set $i (i32.const 0))
    (block $c_done
      (loop $c_loop
        (br_if $c_done (i32.ge_u (local.get $i) (local.get $rows)))
        (i32.store (i32.add (local.get $cand) (i32.shl (local.get $i) (i32.const 2)))
                   (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $c_loop)))
    (local.set $ncand (local.get $rows))
    (local.set $npass (i32.add (i32.shl (local.get $nl) (i32.const 1)) (i32.const 6)))
    (local.set $p (i32.const 0))
    (block $sel_done
      (loop $pass
        (if (i32.eq (local.get $need) (local.get $ncand))
          (then
            (local.set $x (i32.const 0))
            (block $all_done
              (loop $all
                (br_if $all_done (i32.ge_u (local.get $x) (local.get $ncand)))
                (call $bump (local.get $out)
                  (i32.load (i32.add (local.get $cand) (i32.shl (local.get $x) (i32.const 2)))))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $all)))
            (br $sel_done)))
        (if (i32.ge_u (local.get $p) (local.get $npass)) (then (return (i32.const 6))))
        ;; Which word and shift this pass reads.
        (if (i32.lt_u (local.get $p) (i32.shl (local.get $nl) (i32.const 1)))
          (then
            (local.set $lob
              (i32.sub (i32.shl (local.get $nl) (i32.const 5))
                       (i32.shl (i32.add (local.get $p) (i32.const 1)) (i32.const 4))))
            (if (i32.ge_u (local.get $lob) (i32.const 64))
              (then
                (local.set $src (i32.const 0))
                (local.set $sh (i64.extend_i32_u (i32.sub (local.get $lob) (i32.const 64)))))
              (else
                (local.set $src (i32.const 1))
                (local.set $sh (i64.extend_i32_u (local.get $lob))))))
          (else
            (if (i32.lt_u (local.get $p)
                          (i32.add (i32.shl (local.get $nl) (i32.const 1)) (i32.const 4)))
              (then
                (local.set $src (i32.const 2))
                (local.set $sh
                  (i64.extend_i32_u
                    (i32.sub (i32.const 48)
                      (i32.shl (i32.sub (local.get $p) (i32.shl (local.get $nl) (i32.const 1)))
                               (i32.const 4))))))
              (else
                (local.set $src (i32.const 3))
                (local.set $sh
                  (i64.extend_i32_u
                    (i32.sub (i32.const 16)
                      (i32.shl
                        (i32.sub (local.get $p)
                                 (i32.add (i32.shl (local.get $nl) (i32.const 1)) (i32.const 4)))
                        (i32.const 4)))))))))
        ;; Histogram of the candidates' digits.
        (memory.fill (local.get $hist) (i32.const 0) (i32.const 262144))
        (local.set $x (i32.const 0))
        (block $h_done
          (loop $h_loop
            (br_if $h_done (i32.ge_u (local.get $x) (local.get $ncand)))
            (local.set $a
              (i32.add (local.get $hist)
                (i32.shl
                  (call $digit
                    (i32.load (i32.add (local.get $cand) (i32.shl (local.get $x) (i32.const 2))))
                    (local.get $src) (local.get $sh) (local.get $in) (local.get $rem))
                  (i32.const 2))))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $h_loop)))
        ;; Threshold digit d: the candidates above it are all selected.
        (local.set $acc (i32.const 0))
        (local.set $d (i32.const 65535))
        (block $t_done
          (loop $t_loop
            (local.set $h
              (i32.load (i32.add (local.get $hist) (i32.shl (local.get $d) (i32.const 2)))))
            (br_if $t_done
              (i32.ge_u (i32.add (local.get $acc) (local.get $h)) (local.get $need)))
            (local.set $acc (i32.add (local.get $acc) (local.get $h)))
            (local.set $d (i32.sub (local.get $d) (i32.const 1)))
            (br $t_loop)))
        (if (i32.ne (local.get $h) (local.get $ncand))
          (then
            (local.set $m (i32.const 0))
            (local.set $x (i32.const 0))
            (block $k_done
              (loop $k_loop
                (br_if $k_done (i32.ge_u (local.get $x) (local.get $ncand)))
                (local.set $c
                  (i32.load (i32.add (local.get $cand) (i32.shl (local.get $x) (i32.const 2)))))
                (local.set $dg
                  (call $digit (local.get $c) (local.get $src) (local.get $sh)
                    (local.get $in) (local.get $rem)))
                (if (i32.gt_u (local.get $dg) (local.get $d))
                  (then (call $bump (local.get $out) (local.get $c)))
                  (else
                    (if (i32.eq (local.get $dg) (local.get $d))
                      (then
                        (i32.store
                          (i32.add (local.get $cand) (i32.shl (local.get $m) (i32.const 2)))
                          (local.get $c))
                        (local.set $m (i32.add (local.get $m) (i32.const 1)))))))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $k_loop)))
            (local.set $need (i32.sub (local.get $need) (local.get $acc)))
            (local.set $ncand (local.get $m))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pass)))
    (i32.const 0))
)
