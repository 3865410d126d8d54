package onnx

import (
	"errors"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// TreeChunk is the largest batch handed to a tree-ensemble model in one
// call. It was 64 when ONNX Runtime's TreeEnsemble kernels measured
// 0.64–0.83 M rows/s at 64 rows and 0.2–0.4 M rows/s above; with ONNX
// Runtime 1.24.1 (one intra-op thread) larger calls are faster again:
// dns-dga 1.1.0 1,581 CPU ns/row at 64 rows, 1,362 at 256, 1,288 at 1,024,
// 1,233 at 8,192; cic-ids2017-flow 1.1.0 6,740 at 64, 5,995 at 1,024
// (one run, 2026-12-05). 1,024 is the batcher's default MaxBatch, so a
// default model call is never split.
const TreeChunk = 1024

// session is one ONNX Runtime session reading one float32 [N, width] input
// and one float32 [N, classes] output. Run is safe for concurrent use
// (ONNX Runtime sessions are; each call has its own tensors).
type session struct {
	s       *ort.DynamicAdvancedSession
	width   int
	classes int
	chunk   int // 0: no chunking
}

// newSession creates the session of one graph of the model (spec: the
// manifest's model or screen) from its bytes and checks the graph's real
// inputs and outputs against spec: one float32 [N, width] input and a
// float32 [N, classes] score output.
func newSession(dir string, spec *ModelSpec, classes int, data []byte) (*session, error) {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, &ModelError{dir, ErrSession, err}
	}
	want := spec.Inputs[0]
	if len(ins) != 1 || ins[0].Name != want.Name {
		names := make([]string, len(ins))
		for i, in := range ins {
			names[i] = in.Name
		}
		return nil, &ModelError{dir, ErrInputs, fmt.Errorf("graph inputs %q, manifest says [%q]", names, want.Name)}
	}
	if ins[0].DataType != ort.TensorElementDataTypeFloat {
		return nil, &ModelError{dir, ErrInputs, fmt.Errorf("input %q has element type %v, want float32", want.Name, ins[0].DataType)}
	}
	if !shapeCompatible(ins[0].Dimensions, want.Shape) {
		return nil, &ModelError{dir, ErrInputs, fmt.Errorf("input %q has shape %v, manifest says %v", want.Name, []int64(ins[0].Dimensions), want.Shape)}
	}
	var score *ort.InputOutputInfo
	for i := range outs {
		if outs[i].Name == spec.ScoreOutput {
			score = &outs[i]
		}
	}
	if score == nil {
		return nil, &ModelError{dir, ErrOutputs, fmt.Errorf("graph has no output %q", spec.ScoreOutput)}
	}
	if score.OrtValueType != ort.ONNXTypeTensor || score.DataType != ort.TensorElementDataTypeFloat ||
		len(score.Dimensions) != 2 || (score.Dimensions[1] > 0 && score.Dimensions[1] != int64(classes)) {
		return nil, &ModelError{dir, ErrOutputs, fmt.Errorf("output %q is %s, want float32 [N, %d] (export with zipmap off)", score.Name, score.String(), classes)}
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, &ModelError{dir, ErrSession, err}
	}
	defer opts.Destroy()
	// One intra-op thread: measured fastest on 2-core hosts, where two
	// threads per call are unreliable; parallelism comes from concurrent
	// calls on the shared session instead.
	if err := errors.Join(opts.SetIntraOpNumThreads(1), opts.SetInterOpNumThreads(1)); err != nil {
		return nil, &ModelError{dir, ErrSession, err}
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{want.Name}, []string{spec.ScoreOutput}, opts)
	if err != nil {
		return nil, &ModelError{dir, ErrSession, err}
	}
	ss := &session{s: s, width: int(want.Shape[1]), classes: classes}
	if spec.Kind == "tree_ensemble" {
		ss.chunk = TreeChunk
	}
	return ss, nil
}

// shapeCompatible reports whether a graph shape matches a manifest shape:
// same rank, and every fixed dimension equal (-1 or a symbolic dimension on
// either side matches anything only for the batch axis).
func shapeCompatible(got ort.Shape, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if i == 0 && (got[i] <= 0 || want[i] <= 0) {
			continue
		}
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// run scores rows rows of x (row-major, width columns) into dst (rows ×
// classes), in chunks for tree ensembles.
func (s *session) run(x []float32, rows int, dst []float32) error {
	step := rows
	if s.chunk > 0 && step > s.chunk {
		step = s.chunk
	}
	for lo := 0; lo < rows; lo += step {
		n := min(step, rows-lo)
		if err := s.runOne(x[lo*s.width:(lo+n)*s.width], n, dst[lo*s.classes:(lo+n)*s.classes]); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) runOne(x []float32, rows int, dst []float32) error {
	in, err := ort.NewTensor(ort.NewShape(int64(rows), int64(s.width)), x)
	if err != nil {
		return fmt.Errorf("%w: input tensor: %w", ErrSession, err)
	}
	defer in.Destroy()
	out, err := ort.NewTensor(ort.NewShape(int64(rows), int64(s.classes)), dst)
	if err != nil {
		return fmt.Errorf("%w: output tensor: %w", ErrSession, err)
	}
	defer out.Destroy()
	if err := s.s.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		return fmt.Errorf("%w: run: %w", ErrSession, err)
	}
	return nil
}

func (s *session) close() error { return s.s.Destroy() }
