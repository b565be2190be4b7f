package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// The docker backend runs every node in its own container on a private bridge network per
// cluster. The harness chooses every address (SPEC.md §6): the network gets an explicit /24, and
// node i gets the static address .(i+2) of it, known before the node starts. On Linux the host
// reaches those addresses directly through the bridge, so the admin API (IP:8000) and QUIC
// (IP:7000) are used as is: nothing is published on host ports. The network is internal: nodes
// reach each other and the host, not the outside world.
//
// Images are never pulled. With Implementation.Image empty the backend builds a two-layer image
// FROM scratch holding the static refnode binary (tag sskit-refnode:<hash of the binary>, reused
// while the binary does not change). A given Image must already be present locally.
//
// The container gets the SSKIT_* variables of its settings. Its command is the image's own
// (ENTRYPOINT and CMD) unless Implementation.Command is set: then the expanded template replaces
// the image's CMD and the image's ENTRYPOINT, if any, stays in front of it. For the refnode image
// a Command that starts with the host refnode binary (as Refnode returns it) stands for the
// image's entrypoint: only the words after it become the container's arguments.
//
// The data directory setting is a host path; the container sees that directory bind-mounted at
// /data, and {data_dir} and SSKIT_DATA_DIR say /data, so data survives a restart as with the
// process backend. The refnode image runs as the harness's own uid:gid; a given image runs as
// its own user (the directory is made writable for any user, but files a root container writes
// there belong to root on the host).
//
// testcontainers-go finds the daemon (DOCKER_HOST, docker contexts, ~/.testcontainers.properties,
// rootless and Desktop sockets); the backend then drives it through the Docker client, because
// pause, kill, static addresses and no-pull image handling are not on testcontainers' Container.
// Its reaper (Ryuk) is off: the backend removes what it made itself, by label, in Close, and
// SweepDocker removes what a crashed harness left behind.

// Labels on every container and network the docker backend makes.
const (
	labelSskit    = "sskit"             // "1"
	labelCluster  = "sskit.cluster"     // cluster id
	labelOwnerPID = "sskit.harness.pid" // pid of the harness process
	labelOwnerNS  = "sskit.harness.ns"  // boot id and pid namespace of that pid
	labelNode     = "sskit.node"        // node index
)

// refnodeRepo is the repository of the images built from the refnode binary: SSKIT_IMAGE_REPO,
// or sskit-refnode. make test gives its own, so that it can remove every image it built.
func refnodeRepo() string {
	if repo := os.Getenv("SSKIT_IMAGE_REPO"); repo != "" {
		return repo
	}
	return "sskit-refnode"
}

// containerDataDir is where a node's data directory is mounted inside its container.
const containerDataDir = "/data"

var (
	dockerMu  sync.Mutex
	dockerCli *client.Client
)

// dockerClient connects to the daemon once per process (testcontainers finds it) and reuses
// the connection.
func dockerClient(ctx context.Context) (*client.Client, error) {
	dockerMu.Lock()
	defer dockerMu.Unlock()
	if dockerCli != nil {
		return dockerCli, nil
	}
	// The reaper's image cannot be pulled everywhere, and the harness cleans up by itself.
	_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	// Its banner would land in the middle of sskit's own output; the harness reports for itself.
	tclog.SetDefault(tclog.NewNoopLogger())
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: no daemon answers: %w", err)
	}
	dockerCli = tc.Client
	return dockerCli, nil
}

// DockerAvailable reports within 2 seconds whether a Docker daemon answers. Note that
// testcontainers remembers how it found (or failed to find) the daemon for the life of the
// process.
func DockerAvailable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("docker: the daemon does not answer: %w", err)
	}
	return nil
}

type dockerBackend struct {
	cli       *client.Client
	clusterID string
	spec      runSpec // the cluster's implementation; a node may bring its own (mixed clusters)
	netName   string
	netID     string
	subnet    netip.Prefix

	ctx    context.Context // ends in Close; bounds the waiting goroutines
	cancel context.CancelFunc

	mu    sync.Mutex
	insts map[int]*dockerInstance // latest instance of each node index
}

func newDockerBackend(ctx context.Context, clusterID string, impl Implementation) (Backend, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	// Best effort: what a crashed run left would otherwise keep subnets and names taken. Only
	// resources whose harness is certainly gone are removed (see DockerLeftovers).
	_ = SweepDocker(ctx)

	b := &dockerBackend{cli: cli, clusterID: clusterID, netName: "sskit-" + clusterID, insts: map[int]*dockerInstance{}}
	if b.spec, err = resolveRunSpec(ctx, cli, impl); err != nil {
		return nil, err
	}
	if err := b.createNetwork(ctx); err != nil {
		return nil, err
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// runSpec is how a container of one implementation is made.
type runSpec struct {
	image string
	cmd   []string // template for the container's CMD; nil keeps the image's
	user  string   // container user; empty keeps the image's
}

// resolveRunSpec finds the image of an implementation: refnode's, built from the binary when no
// image is given, or the named one, which must already be present (nothing is ever pulled).
func resolveRunSpec(ctx context.Context, cli *client.Client, impl Implementation) (runSpec, error) {
	var spec runSpec
	if impl.Image == "" {
		refImpl, err := Refnode(ctx)
		if err != nil {
			return spec, err
		}
		refBin := refImpl.Command[0]
		if spec.image, err = refnodeImage(ctx, cli, refBin); err != nil {
			return spec, err
		}
		// refnode needs no privilege; running as the harness's user keeps the files it writes
		// in the bind-mounted data directory removable by the harness.
		spec.user = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
		if len(impl.Command) > 0 {
			if !sameFile(impl.Command[0], refBin) {
				return spec, fmt.Errorf("docker backend: no image given, and the command %q is not the refnode binary: "+
					"a host program cannot run in a container; give the implementation's image (it is never pulled)", impl.Command[0])
			}
			spec.cmd = impl.Command[1:]
		}
		return spec, nil
	}
	if _, err := cli.ImageInspect(ctx, impl.Image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return spec, fmt.Errorf("docker backend: image %q is not present locally, and the harness never pulls images: build or load it first (docker build / docker load)", impl.Image)
		}
		return spec, fmt.Errorf("docker backend: inspect image %q: %w", impl.Image, err)
	}
	spec.image, spec.cmd = impl.Image, impl.Command
	return spec, nil
}

func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// ownerLabels mark a resource with the harness process that made it.
func ownerLabels(clusterID string) map[string]string {
	return map[string]string{
		labelSskit:    "1",
		labelCluster:  clusterID,
		labelOwnerPID: strconv.Itoa(os.Getpid()),
		labelOwnerNS:  ownerNamespace(),
	}
}

// ownerNamespace names where a pid means something: the boot (a reboot ends every harness)
// and the pid namespace (a harness in another container has pids we cannot check).
func ownerNamespace() string {
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	return strings.TrimSpace(string(boot)) + "/" + ns
}

// ownerGone reports whether the harness that made a resource has certainly ended.
func ownerGone(labels map[string]string) bool {
	pid := labels[labelOwnerPID]
	if pid == "" {
		return true
	}
	if theirs, ours := labels[labelOwnerNS], ownerNamespace(); theirs != "" && theirs != ours {
		tb, tns, _ := strings.Cut(theirs, "/")
		ob, ons, _ := strings.Cut(ours, "/")
		if tb != "" && ob != "" && tb != ob {
			return true // made before the last reboot
		}
		if tns != ons {
			return false // another pid namespace: its harness may well live
		}
	}
	return !alive(pid)
}

// subnetSpace holds the cluster networks: 1024 /24s in 172.28.0.0/14.
var subnetSpace = netip.MustParsePrefix("172.28.0.0/14")

func subnetAt(i int) netip.Prefix {
	base := subnetSpace.Addr().As4()
	v := binary.BigEndian.Uint32(base[:]) + uint32(i%1024)<<8
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// createNetwork makes the cluster's bridge with a /24 derived from the cluster id, trying other
// /24s while the daemon reports an overlap with an existing network.
func (b *dockerBackend) createNetwork(ctx context.Context) error {
	sum := sha256.Sum256([]byte(b.clusterID))
	start := int(binary.BigEndian.Uint16(sum[:2]))
	var lastErr error
	for k := 0; k < 32; k++ {
		subnet := subnetAt(start + k*97) // 97 is prime to 1024: the tries spread over the space
		gw := subnet.Addr().Next()
		res, err := b.cli.NetworkCreate(ctx, b.netName, client.NetworkCreateOptions{
			Driver:   "bridge",
			Internal: true,
			IPAM:     &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet, Gateway: gw}}},
			Options:  map[string]string{"com.docker.network.bridge.name": b.netName},
			Labels:   ownerLabels(b.clusterID),
		})
		if err == nil {
			b.netID, b.subnet = res.ID, subnet
			return nil
		}
		lastErr = err
		msg := strings.ToLower(err.Error())
		if !strings.Contains(msg, "overlap") && !strings.Contains(msg, "conflict") && !strings.Contains(msg, "in use") {
			break
		}
	}
	return fmt.Errorf("docker backend: create network %s: %w", b.netName, lastErr)
}

func (b *dockerBackend) Kind() string { return "docker" }

// HostIP is the bridge's address on the host (.1), which every container reaches.
func (b *dockerBackend) HostIP() netip.Addr { return b.subnet.Addr().Next() }

// IP is .(index+2) of the cluster's subnet (.1 is the bridge on the host).
func (b *dockerBackend) IP(index int) netip.Addr {
	a := b.subnet.Addr().As4()
	a[3] = byte(index + 2)
	return netip.AddrFrom4(a)
}

func (b *dockerBackend) containerName(index int) string {
	return fmt.Sprintf("sskit-%s-%d", b.clusterID, index)
}

// Start creates and starts n's container. A container left from an earlier start of the same
// node (stopped or killed) is removed first: it holds the node's name and address.
func (b *dockerBackend) Start(ctx context.Context, n *Node) (Instance, error) {
	if n.Index > 252 {
		return nil, errors.New("docker backend: at most 253 nodes per cluster")
	}
	name := b.containerName(n.Index)
	b.mu.Lock()
	old := b.insts[n.Index]
	b.mu.Unlock()
	if _, err := b.cli.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("remove the old container %s: %w", name, err)
	}
	if old != nil {
		select { // its log goroutine must finish before the new start is logged
		case <-old.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	s := n.Settings
	s.DataDir = containerDataDir
	hostData, err := filepath.Abs(n.Settings.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(hostData, 0o755); err != nil {
		return nil, err
	}
	_ = os.Chmod(hostData, 0o777) // an image may run as a user other than root
	spec := b.spec
	if n.Impl != nil {
		if spec, err = resolveRunSpec(ctx, b.cli, *n.Impl); err != nil {
			return nil, err
		}
	}
	labels := ownerLabels(b.clusterID)
	labels[labelNode] = strconv.Itoa(n.Index)
	cfg := &container.Config{
		Image:    spec.image,
		Env:      s.Env(),
		Labels:   labels,
		Hostname: fmt.Sprintf("node-%d", n.Index),
		User:     spec.user,
	}
	if spec.cmd != nil {
		cfg.Cmd = s.Expand(spec.cmd)
	}
	created, err := b.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:   name,
		Config: cfg,
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode(b.netName),
			Binds:       []string{hostData + ":" + containerDataDir},
			LogConfig:   container.LogConfig{Type: "json-file"},
		},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			b.netName: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.Settings.Listen.Addr()}},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", name, err)
	}
	id := created.ID
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "=== sskit: starting %s (container %s) at %s ===\n", n.Label(), id[:12], time.Now().UTC().Format(time.RFC3339Nano))
	n.Launch = Launch{Image: spec.image, Argv: cfg.Cmd, Env: cfg.Env}
	fmt.Fprint(logf, n.Launch.header())
	if _, err := b.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		fmt.Fprintf(logf, "=== sskit: docker could not start the container: %v ===\n", err)
		logf.Close()
		_, _ = b.cli.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
		return nil, fmt.Errorf("start container %s: %w", name, err)
	}
	inst := &dockerInstance{cli: b.cli, id: id, done: make(chan struct{}), code: -1}
	if res, err := b.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil && res.Container.State != nil {
		inst.pid = res.Container.State.Pid
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		defer logf.Close()
		rc, err := b.cli.ContainerLogs(b.ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			fmt.Fprintf(logf, "=== sskit: cannot follow the container's log: %v ===\n", err)
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(logf, logf, rc)
	}()
	go inst.wait(b.ctx, logsDone)
	b.mu.Lock()
	b.insts[n.Index] = inst
	b.mu.Unlock()
	return inst, nil
}

// Close removes every container of the cluster and its network.
func (b *dockerBackend) Close(ctx context.Context) error {
	defer b.cancel()
	var errs []error
	list, err := b.cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", labelCluster+"="+b.clusterID)})
	if err != nil {
		errs = append(errs, err)
	}
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, c := range list.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
				emu.Lock()
				errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	errs = append(errs, removeNetwork(ctx, b.cli, b.netID))
	// The instances' goroutines end with their containers; wait briefly so the logs are complete.
	b.mu.Lock()
	insts := make([]*dockerInstance, 0, len(b.insts))
	for _, inst := range b.insts {
		insts = append(insts, inst)
	}
	b.mu.Unlock()
	for _, inst := range insts {
		select {
		case <-inst.done:
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
	return errors.Join(errs...)
}

// removeLeftover removes a container whose owner is gone. Another sweep may be removing it at
// the same moment (every docker cluster sweeps as it starts, and CI runs packages side by side):
// the daemon then answers that removal is in progress, and this waits until it is gone.
func removeLeftover(ctx context.Context, cli *client.Client, id string) error {
	return removeUntilGone(ctx, "container", id, cerrdefs.IsConflict, func() error {
		_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
		return err
	})
}

// removeNetwork removes a network, retrying briefly while a just-removed container still holds
// an endpoint on it.
func removeNetwork(ctx context.Context, cli *client.Client, id string) error {
	if id == "" {
		return nil
	}
	return removeUntilGone(ctx, "network", id, func(error) bool { return true }, func() error {
		_, err := cli.NetworkRemove(ctx, id, client.NetworkRemoveOptions{})
		return err
	})
}

// removeUntilGone calls remove until it succeeds or the daemon no longer knows id, every 100 ms
// for up to 5 s while retry says the error may pass.
func removeUntilGone(ctx context.Context, what, id string, retry func(error) bool, remove func() error) error {
	var err error
	for try := 0; try < 50; try++ {
		if err = remove(); err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if !retry(err) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove %s %s: %w", what, id[:12], err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("remove %s %s: %w", what, id[:12], err)
}

// dockerInstance is one container of a node. A restart makes a new one.
type dockerInstance struct {
	cli  *client.Client
	id   string
	pid  int
	done chan struct{} // closed when the container has ended and its log is written

	mu     sync.Mutex
	code   int
	paused bool
}

// wait records the container's exit. A failed wait (say, a dropped connection to the daemon)
// is retried while the container still runs.
func (d *dockerInstance) wait(ctx context.Context, logsDone <-chan struct{}) {
	code := -1
	for {
		w := d.cli.ContainerWait(ctx, d.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		var werr error
		select {
		case r := <-w.Result:
			code = int(r.StatusCode)
		case werr = <-w.Error:
		}
		if werr == nil {
			break
		}
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		res, err := d.cli.ContainerInspect(ictx, d.id, client.ContainerInspectOptions{})
		cancel()
		if err == nil && res.Container.State != nil && !res.Container.State.Running {
			code = res.Container.State.ExitCode
			break
		}
		if (err != nil && cerrdefs.IsNotFound(err)) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	select { // a followed log ends with the container; bound the wait all the same
	case <-logsDone:
	case <-time.After(3 * time.Second):
	}
	d.mu.Lock()
	d.code = code
	d.mu.Unlock()
	close(d.done)
}

func (d *dockerInstance) Exited() (bool, int) {
	select {
	case <-d.done:
		d.mu.Lock()
		defer d.mu.Unlock()
		return true, d.code
	default:
		return false, 0
	}
}

// NetNS is the pid of the container's init process, or -1 once the container has ended (its
// namespace is gone, and the pid may be reused).
func (d *dockerInstance) PID() int {
	if exited, _ := d.Exited(); exited {
		return 0
	}
	return d.pid
}

func (d *dockerInstance) NetNS() int {
	if exited, _ := d.Exited(); exited || d.pid == 0 {
		return -1
	}
	return d.pid
}

func (d *dockerInstance) unpauseIfPaused(ctx context.Context) {
	d.mu.Lock()
	paused := d.paused
	d.paused = false
	d.mu.Unlock()
	if paused {
		_, _ = d.cli.ContainerUnpause(ctx, d.id, client.ContainerUnpauseOptions{})
	}
}

func (d *dockerInstance) awaitExit(ctx context.Context) (int, error) {
	select {
	case <-d.done:
		_, code := d.Exited()
		return code, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Stop is docker stop: SIGTERM, and SIGKILL after timeout (whole seconds, rounded up).
func (d *dockerInstance) Stop(ctx context.Context, timeout time.Duration) (int, error) {
	if exited, code := d.Exited(); exited {
		return code, nil
	}
	d.unpauseIfPaused(ctx) // a frozen process cannot act on SIGTERM
	secs := int(math.Ceil(timeout.Seconds()))
	if _, err := d.cli.ContainerStop(ctx, d.id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		if exited, code := d.Exited(); exited {
			return code, nil
		}
		return -1, fmt.Errorf("docker stop %s: %w", d.id[:12], err)
	}
	return d.awaitExit(ctx)
}

// Kill is docker kill with SIGKILL; it returns once the exit is recorded.
func (d *dockerInstance) Kill(ctx context.Context) error {
	if exited, _ := d.Exited(); exited {
		return nil
	}
	_, err := d.cli.ContainerKill(ctx, d.id, client.ContainerKillOptions{Signal: "KILL"})
	if err != nil && cerrdefs.IsConflict(err) {
		d.unpauseIfPaused(ctx) // some daemons refuse to kill a paused container
		_, err = d.cli.ContainerKill(ctx, d.id, client.ContainerKillOptions{Signal: "KILL"})
	}
	if err != nil {
		if exited, _ := d.Exited(); exited {
			return nil
		}
		return fmt.Errorf("docker kill %s: %w", d.id[:12], err)
	}
	d.unpauseIfPaused(ctx) // a pending SIGKILL acts once the cgroup is thawed
	_, err = d.awaitExit(ctx)
	return err
}

// Pause is docker pause (the cgroup freezer).
func (d *dockerInstance) Pause(ctx context.Context) error {
	if _, err := d.cli.ContainerPause(ctx, d.id, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("docker pause %s: %w", d.id[:12], err)
	}
	d.mu.Lock()
	d.paused = true
	d.mu.Unlock()
	return nil
}

// Resume is docker unpause; resuming a node that is not paused does nothing.
func (d *dockerInstance) Resume(ctx context.Context) error {
	d.mu.Lock()
	paused := d.paused
	d.mu.Unlock()
	if !paused {
		return nil
	}
	if _, err := d.cli.ContainerUnpause(ctx, d.id, client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("docker unpause %s: %w", d.id[:12], err)
	}
	d.mu.Lock()
	d.paused = false
	d.mu.Unlock()
	return nil
}

// refnodeImage returns the tag of the image holding the refnode binary at bin, building it
// unless an image of the same binary exists. It keeps the three newest such images.
func refnodeImage(ctx context.Context, cli *client.Client, bin string) (string, error) {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(exe)
	tag := refnodeRepo() + ":" + hex.EncodeToString(sum[:8])
	// One build at a time on this host: test binaries of several packages run at once, and a
	// second build of the same tag would leave the first image dangling.
	if lock, err := os.OpenFile(filepath.Join(os.TempDir(), "sskit-image-build.lock"), os.O_CREATE|os.O_RDWR, 0o666); err == nil {
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err == nil {
			defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		}
	}
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("docker backend: inspect image %s: %w", tag, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY refnode /refnode\nENTRYPOINT [\"/refnode\"]\n")},
		{"refnode", 0o755, exe},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	res, err := cli.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags:        []string{tag},
		Labels:      map[string]string{labelSskit: "1"},
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1, // FROM scratch needs no BuildKit session, and nothing is pulled
	})
	if err != nil {
		return "", fmt.Errorf("docker backend: build %s: %w", tag, err)
	}
	defer res.Body.Close()
	var out strings.Builder
	dec := json.NewDecoder(res.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("docker backend: build %s: %w", tag, err)
		}
		out.WriteString(msg.Stream)
		if msg.Error != "" {
			return "", fmt.Errorf("docker backend: build %s: %s\n%s", tag, msg.Error, out.String())
		}
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return "", fmt.Errorf("docker backend: build %s gave no image: %w\n%s", tag, err, out.String())
	}
	pruneRefnodeImages(ctx, cli, 3)
	return tag, nil
}

// pruneRefnodeImages removes all but the newest keep refnode images; an image still in use
// by a container stays.
func pruneRefnodeImages(ctx context.Context, cli *client.Client, keep int) {
	list, err := cli.ImageList(ctx, client.ImageListOptions{
		Filters: make(client.Filters).Add("reference", refnodeRepo()).Add("label", labelSskit+"=1")})
	if err != nil || len(list.Items) <= keep {
		return
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Created > items[j].Created })
	for _, img := range items[keep:] {
		for _, t := range img.RepoTags {
			_, _ = cli.ImageRemove(ctx, t, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
}

// DockerLeftovers lists the containers and networks (labelled sskit=1) that harness processes
// which have ended left behind. Resources of a harness that still runs, or that runs in another
// pid namespace (another container) where its pid cannot be checked, are not listed.
func DockerLeftovers(ctx context.Context) ([]string, error) {
	cs, ns, err := dockerLeftovers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("container %s (%s)", strings.TrimPrefix(firstOr(c.Names, "?"), "/"), c.ID[:12]))
	}
	for _, n := range ns {
		out = append(out, fmt.Sprintf("network %s (%s)", n.Name, n.ID[:12]))
	}
	return out, nil
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func dockerLeftovers(ctx context.Context) ([]container.Summary, []network.Summary, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, nil, err
	}
	filter := make(client.Filters).Add("label", labelSskit+"=1")
	cl, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		return nil, nil, err
	}
	nl, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		return nil, nil, err
	}
	var cs []container.Summary
	for _, c := range cl.Items {
		if ownerGone(c.Labels) {
			cs = append(cs, c)
		}
	}
	var ns []network.Summary
	for _, n := range nl.Items {
		if ownerGone(n.Labels) {
			ns = append(ns, n)
		}
	}
	return cs, ns, nil
}

// SweepDocker removes what DockerLeftovers lists: containers first, then their networks.
func SweepDocker(ctx context.Context) error {
	cs, ns, err := dockerLeftovers(ctx)
	if err != nil {
		return err
	}
	cli, _ := dockerClient(ctx)
	var errs []error
	for _, c := range cs {
		errs = append(errs, removeLeftover(ctx, cli, c.ID))
	}
	for _, n := range ns {
		errs = append(errs, removeNetwork(ctx, cli, n.ID))
	}
	return errors.Join(errs...)
}
