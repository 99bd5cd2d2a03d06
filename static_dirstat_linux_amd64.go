package frontdoor

import "syscall"

// staticSysFstatat is fstatat's system call number (newfstatat on amd64).
const staticSysFstatat = syscall.SYS_NEWFSTATAT
