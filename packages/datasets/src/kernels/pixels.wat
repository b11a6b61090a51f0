;; Pixel kernels of @smn/datasets in WebAssembly SIMD: PIL's 8-bit resampling and box blur, on interleaved RGB bytes.
;; Each RGB pixel is one i32x4 (the 4th lane is the next pixel's first byte: computed, never stored), so the three
;; channels of a pixel go through one vector instruction where JavaScript needs three scalar ones.
;;
;; A pixel is loaded as (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero p))) and stored by
;; narrowing with saturation (i32 → i16 → u8: the clip to [0, 255]) then v128.store32_lane, written out at each use:
;; Node 20's V8 does not inline calls between wasm functions, and the blur ran 2.7× slower through helper functions.
;;
;; The arithmetic is PIL's own, integer for integer (libImaging/Resample.c and BoxBlur.c), so results are PIL's bit
;; for bit. All pointers are byte offsets into the exported memory; the caller (src/kernels/wasm.ts) lays the buffers
;; out and leaves 8 bytes of slack after each, because a pixel is read as 4 bytes and 8 bytes are written at a time.
;;
;; Build: `node packages/datasets/scripts/build-wasm.mjs` writes src/kernels/pixels-wasm.ts (test/kernels.test.ts
;; checks that the committed bytes are this file's).
(module
  (memory (export "memory") 1)

  ;; Horizontal pass of PIL's ImagingResampleHorizontal_8bpc: for each of $rows rows (at $src, $stride bytes apart)
  ;; and each output x < $outW, the sum over count[x] source pixels from first[x] of pixel · k[x·kmax + j] (22-bit
  ;; fixed point), rounded (+2^21, >> 22) and clipped to a byte, into $dst (rows × outW × 3 bytes).
  ;; $first, $count: i32 per output; $k: i32 coefficients, $kmax per output.
  (func (export "resample_h") (param $src i32) (param $stride i32) (param $rows i32) (param $outW i32)
    (param $first i32) (param $count i32) (param $k i32) (param $kmax i32) (param $dst i32)
    (local $row i32) (local $x i32) (local $p i32) (local $end i32) (local $kp i32) (local $acc v128) (local $v v128)
    (local.set $kmax (i32.shl (local.get $kmax) (i32.const 2)))
    (local.set $row (local.get $src))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.eqz (local.get $rows)))
        (local.set $x (i32.const 0))
        (block $x_done
          (loop $x_loop
            (br_if $x_done (i32.ge_u (local.get $x) (local.get $outW)))
            (local.set $p (i32.add (local.get $row)
              (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 3))))
            (local.set $end (i32.add (local.get $p)
              (i32.mul (i32.load (i32.add (local.get $count) (i32.shl (local.get $x) (i32.const 2)))) (i32.const 3))))
            (local.set $kp (i32.add (local.get $k) (i32.mul (local.get $x) (local.get $kmax))))
            (local.set $acc (v128.const i32x4 2097152 2097152 2097152 2097152))
            (block $k_done
              (loop $k_loop
                (br_if $k_done (i32.ge_u (local.get $p) (local.get $end)))
                (local.set $acc (i32x4.add (local.get $acc)
                  (i32x4.mul (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $p)))) (i32x4.splat (i32.load (local.get $kp))))))
                (local.set $p (i32.add (local.get $p) (i32.const 3)))
                (local.set $kp (i32.add (local.get $kp) (i32.const 4)))
                (br $k_loop)))
            (local.set $v (i32x4.shr_s (local.get $acc) (i32.const 22)))
            (local.set $v (i16x8.narrow_i32x4_s (local.get $v) (local.get $v)))
            (v128.store32_lane 0 (local.get $dst) (i8x16.narrow_i16x8_u (local.get $v) (local.get $v)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 3)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $x_loop)))
        (local.set $row (i32.add (local.get $row) (local.get $stride)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rows_loop))))

  ;; Vertical pass of PIL's ImagingResampleVertical_8bpc: output row y (of $outH, $rowLen bytes each) is the sum over
  ;; count[y] rows of $src from row first[y] of byte · k[y·kmax + j], rounded and clipped as above. 8 bytes at a time
  ;; (two i32x4); the last group of a row may run past its end: those bytes belong to the next row, written after.
  (func (export "resample_v") (param $src i32) (param $rowLen i32) (param $outH i32)
    (param $first i32) (param $count i32) (param $k i32) (param $kmax i32) (param $dst i32)
    (local $y i32) (local $x i32) (local $base i32) (local $n i32) (local $kp i32) (local $p i32) (local $j i32)
    (local $a v128) (local $b v128) (local $v v128) (local $w v128)
    (local.set $kmax (i32.shl (local.get $kmax) (i32.const 2)))
    (block $y_done
      (loop $y_loop
        (br_if $y_done (i32.ge_u (local.get $y) (local.get $outH)))
        (local.set $base (i32.add (local.get $src)
          (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $y) (i32.const 2)))) (local.get $rowLen))))
        (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $kp (i32.add (local.get $k) (i32.mul (local.get $y) (local.get $kmax))))
        (local.set $x (i32.const 0))
        (block $x_done
          (loop $x_loop
            (br_if $x_done (i32.ge_u (local.get $x) (local.get $rowLen)))
            (local.set $a (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $b (local.get $a))
            (local.set $p (i32.add (local.get $base) (local.get $x)))
            (local.set $j (i32.const 0))
            (block $k_done
              (loop $k_loop
                (br_if $k_done (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $v (i16x8.extend_low_i8x16_u (v128.load64_zero (local.get $p))))
                (local.set $w (i32x4.splat (i32.load (i32.add (local.get $kp) (i32.shl (local.get $j) (i32.const 2))))))
                (local.set $a (i32x4.add (local.get $a) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $v)) (local.get $w))))
                (local.set $b (i32x4.add (local.get $b) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $v)) (local.get $w))))
                (local.set $p (i32.add (local.get $p) (local.get $rowLen)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $k_loop)))
            (local.set $v (i16x8.narrow_i32x4_s
              (i32x4.shr_s (local.get $a) (i32.const 22)) (i32x4.shr_s (local.get $b) (i32.const 22))))
            (v128.store64_lane 0 (i32.add (local.get $dst) (local.get $x)) (i8x16.narrow_i16x8_u (local.get $v) (local.get $v)))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (br $x_loop)))
        (local.set $dst (i32.add (local.get $dst) (local.get $rowLen)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $y_loop))))

  ;; One extended-box pass of PIL's ImagingLineBoxBlur32 over a line of $n RGB pixels at $in, into $out (another
  ;; line): per pixel x, acc (the box of radius $r, edges repeating the end pixels) · ww + (the two pixels at distance
  ;; r+1) · fw, in 8.24 fixed point with uint32 wrap-around as PIL's UINT32s. PIL's three loops per edge case are
  ;; one loop here, their indices chosen per pixel (sub: pixel leaving the box, add: entering, far: at r+1).
  (func $box_line (param $in i32) (param $out i32) (param $n i32) (param $r i32) (param $ww i32) (param $fw i32)
    (local $last i32) (local $edgeA i32) (local $edgeB i32) (local $x i32) (local $acc v128) (local $vsub v128)
    (local $sub i32) (local $add i32) (local $far i32) (local $vww v128) (local $vfw v128) (local $v v128)
    (local.set $last (i32.add (local.get $in) (i32.mul (i32.sub (local.get $n) (i32.const 1)) (i32.const 3))))
    ;; edgeA = min(r + 1, n), edgeB = max(n − r − 1, 0)
    (local.set $edgeA (select (i32.add (local.get $r) (i32.const 1)) (local.get $n)
      (i32.lt_s (i32.add (local.get $r) (i32.const 1)) (local.get $n))))
    (local.set $edgeB (select (i32.sub (i32.sub (local.get $n) (local.get $r)) (i32.const 1)) (i32.const 0)
      (i32.gt_s (i32.sub (i32.sub (local.get $n) (local.get $r)) (i32.const 1)) (i32.const 0))))
    (local.set $vww (i32x4.splat (local.get $ww)))
    (local.set $vfw (i32x4.splat (local.get $fw)))
    ;; acc for pixel −1: the first pixel r + 1 times, pixels 0 … edgeA − 2, the last pixel r − edgeA + 1 times.
    (local.set $acc (i32x4.mul (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $in)))) (i32x4.splat (i32.add (local.get $r) (i32.const 1)))))
    (block $pre_done
      (loop $pre_loop
        (br_if $pre_done (i32.ge_s (local.get $x) (i32.sub (local.get $edgeA) (i32.const 1))))
        (local.set $acc (i32x4.add (local.get $acc) (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (i32.add (local.get $in) (i32.mul (local.get $x) (i32.const 3))))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $pre_loop)))
    (local.set $acc (i32x4.add (local.get $acc)
      (i32x4.mul (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $last)))) (i32x4.splat (i32.add (i32.sub (local.get $r) (local.get $edgeA)) (i32.const 1))))))
    (local.set $x (i32.const 0))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $x) (local.get $n)))
        (local.set $sub (select (local.get $in)
          (i32.add (local.get $in) (i32.mul (i32.sub (i32.sub (local.get $x) (local.get $r)) (i32.const 1)) (i32.const 3)))
          (i32.lt_s (local.get $x) (local.get $edgeA))))
        (local.set $add (select (i32.add (local.get $in) (i32.mul (i32.add (local.get $x) (local.get $r)) (i32.const 3)))
          (local.get $last) (i32.lt_s (local.get $x) (local.get $edgeB))))
        (local.set $far (select (i32.add (local.get $add) (i32.const 3)) (local.get $last)
          (i32.lt_s (local.get $x) (local.get $edgeB))))
        (local.set $vsub (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $sub)))))
        (local.set $acc (i32x4.sub (i32x4.add (local.get $acc) (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $add))))) (local.get $vsub)))
        (local.set $v (i32x4.shr_u
            (i32x4.add
              (i32x4.add (i32x4.mul (local.get $acc) (local.get $vww))
                (i32x4.mul (i32x4.add (local.get $vsub) (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $far))))) (local.get $vfw)))
              (v128.const i32x4 8388608 8388608 8388608 8388608))
            (i32.const 24)))
        (local.set $v (i16x8.narrow_i32x4_s (local.get $v) (local.get $v)))
        (v128.store32_lane 0 (i32.add (local.get $out) (i32.mul (local.get $x) (i32.const 3))) (i8x16.narrow_i16x8_u (local.get $v) (local.get $v)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $loop))))

  ;; $passes box passes along each of $rows rows of $n RGB pixels at $data (row-major), in place, as PIL's
  ;; ImagingHorizontalBoxBlur repeated: each row through the scratch lines $a and $b (n·3 + 8 bytes each).
  (func (export "box_blur_rows") (param $data i32) (param $rows i32) (param $n i32) (param $r i32) (param $ww i32)
    (param $fw i32) (param $passes i32) (param $a i32) (param $b i32)
    (local $len i32) (local $row i32) (local $q i32) (local $src i32) (local $dst i32) (local $t i32)
    (local.set $len (i32.mul (local.get $n) (i32.const 3)))
    (local.set $row (local.get $data))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.eqz (local.get $rows)))
        (memory.copy (local.get $a) (local.get $row) (local.get $len))
        (local.set $src (local.get $a))
        (local.set $dst (local.get $b))
        (local.set $q (i32.const 0))
        (block $q_done
          (loop $q_loop
            (br_if $q_done (i32.ge_u (local.get $q) (local.get $passes)))
            (call $box_line (local.get $src) (local.get $dst) (local.get $n) (local.get $r) (local.get $ww) (local.get $fw))
            (local.set $t (local.get $src))
            (local.set $src (local.get $dst))
            (local.set $dst (local.get $t))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $q_loop)))
        (memory.copy (local.get $row) (local.get $src) (local.get $len))
        (local.set $row (i32.add (local.get $row) (local.get $len)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rows_loop))))

  ;; The transpose of an $h × $w RGB image at $src into $dst ($w × $h), byte by byte (no slack written).
  (func (export "transpose_rgb") (param $src i32) (param $h i32) (param $w i32) (param $dst i32)
    (local $y i32) (local $x i32) (local $s i32) (local $d i32) (local $col i32)
    (local.set $col (i32.mul (local.get $h) (i32.const 3)))
    (local.set $s (local.get $src))
    (block $y_done
      (loop $y_loop
        (br_if $y_done (i32.ge_u (local.get $y) (local.get $h)))
        (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $y) (i32.const 3))))
        (local.set $x (i32.const 0))
        (block $x_done
          (loop $x_loop
            (br_if $x_done (i32.ge_u (local.get $x) (local.get $w)))
            (i32.store16 (local.get $d) (i32.load16_u (local.get $s)))
            (i32.store8 offset=2 (local.get $d) (i32.load8_u offset=2 (local.get $s)))
            (local.set $s (i32.add (local.get $s) (i32.const 3)))
            (local.set $d (i32.add (local.get $d) (local.get $col)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $x_loop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $y_loop))))
)
