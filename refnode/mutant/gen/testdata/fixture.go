package fixture

import "github.com/stableset/sskit/refnode/mutant"

type counter struct {
	n     int
	Audit func(int)
}

func (c *counter) step(limit int, on bool) int {
	if c.n < limit && on {
		c.n += 2
	}
	c.touch()
	c.n++
	total := c.n - 1
	if c.Audit != nil {
		c.Audit(total)
	}
	if mutant.Enabled && mutant.Is("fixture") {
		c.n = 0
	}
	return total
}

func (c *counter) touch() {}

func (c *counter) String() string {
	if c.n == 0 {
		return "zero"
	}
	return "some"
}
