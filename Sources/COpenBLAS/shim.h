// Debian's libopenblas-dev installs cblas.h through update-alternatives.
#include <cblas.h>
