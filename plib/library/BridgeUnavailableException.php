<?php
// The bridge daemon cannot be reached (socket missing, refused, or no secret yet): pages say so plainly.
class Modules_OutgoingMailLimits_BridgeUnavailableException extends RuntimeException
{
}
