// placeholder, filled once signature.h/normaliser.h land
namespace mscred::pipeline {}
