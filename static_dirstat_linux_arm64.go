package frontdoor

import "syscall"

// staticSysFstatat is fstatat's system call number.
const staticSysFstatat = syscall.SYS_FSTATAT
