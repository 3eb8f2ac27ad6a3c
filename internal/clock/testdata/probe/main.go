// Command probe prints clock.Now as Unix nanoseconds: the tests build it as
// the functions are built, to see which clock a build has.
package main

import (
	"fmt"

	"github.com/wellness-rtbf/rtbf/internal/clock"
)

func main() { fmt.Println(clock.Now().UnixNano()) }
