// libqrencode, for the setup tool only (the module never draws QR codes).
#include <qrencode.h>
