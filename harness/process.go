package harness

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// harnessEnv marks every node process with the harness's pid, so that a later run can find and
// end nodes that a crashed run left behind (see Sweep).
const harnessEnv = "SSKIT_HARNESS_PID"

// processBackend runs nodes as local processes, each on its own loopback address
// 127.A.B.(index+1), so that faults can target one node.
type processBackend struct {
	command []string
	a, b    byte
	subnet  *os.File // held locked while the cluster runs: the /24 is this cluster's (reserveSubnet)
}

func newProcessBackend(clusterID string, command []string) (*processBackend, error) {
	resolved, err := resolveCommand(command)
	if err != nil {
		return nil, err
	}
	// Each cluster gets its own /24 inside 127.64.0.0-127.254.255.255; the cluster id (random)
	// picks the first one tried.
	p := &processBackend{command: resolved}
	for attempt := 0; ; attempt++ {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", clusterID, attempt))
		p.a, p.b = 64+sum[0]%190, sum[1]
		f, err := reserveSubnet(p.a, p.b)
		if err == nil {
			p.subnet = f
			return p, nil
		}
		if attempt == 63 {
			return nil, fmt.Errorf("harness: no free loopback /24 for a cluster after 64 tries: %w", err)
		}
	}
}

// reserveSubnet locks a file named after the /24 127.a.b.0 in a directory every sskit process on
// the machine shares. Clusters of other sskit processes (go test runs packages side by side, each
// starting clusters) then never get the same /24: before, two could, and a node that could not
// bind its address left its readiness check to be answered by the other process's node at the
// same address, so that a scenario dialed a node with another name. The lock goes with the
// file's descriptor, so a process that dies releases it.
func reserveSubnet(a, b byte) (*os.File, error) {
	dir := filepath.Join(os.TempDir(), "sskit-subnets")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("127.%d.%d.0", a, b)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("127.%d.%d.0/24 is in use by another cluster: %w", a, b, err)
	}
	return f, nil
}

// resolveCommand makes the program of a command template an absolute path.
func resolveCommand(command []string) ([]string, error) {
	if len(command) == 0 {
		return nil, errors.New("harness: the process backend needs a command (NODE_CMD)")
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		return nil, fmt.Errorf("node command %q: %w", command[0], err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return append([]string{path}, command[1:]...), nil
}

func (p *processBackend) Kind() string { return "process" }

func (p *processBackend) HostIP() netip.Addr { return netip.MustParseAddr("127.0.0.1") }

func (p *processBackend) IP(index int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, p.a, p.b, byte(index + 1)})
}

func (p *processBackend) Start(ctx context.Context, n *Node) (Instance, error) {
	if n.Index > 253 {
		return nil, errors.New("process backend: at most 254 nodes per cluster")
	}
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "=== sskit: starting %s at %s ===\n", n.Label(), time.Now().UTC().Format(time.RFC3339Nano))
	command := p.command
	if n.Impl != nil { // a mixed cluster: this node runs another implementation
		if command, err = resolveCommand(n.Impl.Command); err != nil {
			logf.Close()
			return nil, err
		}
	}
	argv := n.Settings.Expand(command)
	n.Launch = Launch{Argv: argv, Env: n.Settings.Env()}
	fmt.Fprint(logf, n.Launch.header())
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), n.Settings.Env()...), harnessEnv+"="+strconv.Itoa(os.Getpid()))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: Ctrl-C in a terminal reaches the harness, which then stops the nodes in
	// order, rather than every node at once. Pdeathsig ends a node if the harness dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	inst := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		inst.mu.Lock()
		inst.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			inst.code = 128 + int(ws.Signal())
		}
		inst.mu.Unlock()
		logf.Close()
		close(inst.done)
	}()
	return inst, nil
}

// Close releases the cluster's /24; the nodes are stopped by Cluster.Close before it.
func (p *processBackend) Close(ctx context.Context) error {
	if p.subnet == nil {
		return nil
	}
	err := p.subnet.Close() // closing the descriptor releases the lock
	p.subnet = nil
	return err
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	code int
}

func (p *process) signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

func (p *process) Stop(ctx context.Context, timeout time.Duration) (int, error) {
	if err := p.signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.signal(syscall.SIGKILL)
		<-p.done
	case <-ctx.Done():
		_ = p.signal(syscall.SIGKILL)
		<-p.done
	}
	_, code := p.Exited()
	return code, nil
}

func (p *process) Kill(ctx context.Context) error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pause stops the process and returns once the kernel reports it stopped: SIGSTOP reaches a
// multi-threaded process a moment after kill returns, and until then it still answers.
func (p *process) Pause(ctx context.Context) error {
	if err := p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	return p.awaitState(ctx, true)
}

// Resume continues the process and returns once it is no longer stopped.
func (p *process) Resume(ctx context.Context) error {
	if err := p.signal(syscall.SIGCONT); err != nil {
		return err
	}
	return p.awaitState(ctx, false)
}

// awaitState polls /proc/<pid>/stat until the process is (or is no longer) stopped, or has ended.
func (p *process) awaitState(ctx context.Context, stopped bool) error {
	stat := fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid)
	for {
		b, err := os.ReadFile(stat)
		if err != nil {
			return nil // gone
		}
		// The state follows the command name in parentheses: "pid (comm) S ...".
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) == 0 || (fields[0] == "T" || fields[0] == "t") == stopped || fields[0] == "Z" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return nil
		case <-time.After(time.Millisecond):
		}
	}
}
func (p *process) NetNS() int { return 0 }

func (p *process) PID() int {
	if exited, _ := p.Exited(); exited {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *process) Exited() (bool, int) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.code
	default:
		return false, 0
	}
}
