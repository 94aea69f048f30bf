/* The one version of every berth binary and of the images it makes itself
 * (the pods' infra image is tagged with it). */
#pragma once

#define BERTH_VERSION "0.1.0"
