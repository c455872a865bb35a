# Usage example: one NAT instance per VPC, each configured differently, from one module block.
#
#   dev      single interface, no Elastic IP (the egress address changes on stop/start)
#   staging  single interface, Elastic IP, also translates a peered VPC's range
#   prod     two interfaces (the route tables target one in a private subnet), Elastic IP,
#            a peered range, and public port 2222 forwarded to SSH on a private host from one
#            admin network only
#
# The VPCs exist already: pass their IDs in `networks` (e.g. from your network configuration's
# outputs). Route tables listed there get their 0.0.0.0/0 route from the module.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

variable "region" {
  type    = string
  default = "eu-central-1"
}

variable "networks" {
  description = "Per NAT name (dev, staging, prod): the VPC, its public subnet, the private subnets the NAT serves and their route tables."
  type = map(object({
    vpc_id             = string
    public_subnet_id   = string
    private_subnet_ids = list(string)
    route_table_ids    = list(string)
  }))
}

provider "aws" {
  region = var.region
}

locals {
  nats = {
    dev = {
      mode             = "single"
      elastic_ip       = false
      additional_cidrs = []
      port_forwards    = []
    }
    staging = {
      mode             = "single"
      elastic_ip       = true
      additional_cidrs = ["10.120.0.0/16"] # a peered VPC
      port_forwards    = []
    }
    prod = {
      mode             = "dual" # the first private subnet holds the forwarding interface: same zone as the public subnet
      elastic_ip       = true
      additional_cidrs = ["10.130.0.0/16", "10.131.0.0/16"]
      port_forwards = [{
        public_port   = 2222
        target_ip     = "10.30.1.10"
        target_port   = 22
        allowed_cidrs = ["203.0.113.0/28"] # the admin network; 0.0.0.0/0 would need allow_any_source = true
        # protocol defaults to "tcp"; preserve_client_ip to true (the target sees the client's address)
      }]
    }
  }
}

module "nat" {
  # From a release: "git::https://github.com/your-github-org/cdktf-nat-instance.git//terraform/modules/nat-instance?ref=v0.1.0"
  source   = "../.."
  for_each = local.nats

  name               = "nat-${each.key}"
  vpc_id             = var.networks[each.key].vpc_id
  public_subnet_id   = var.networks[each.key].public_subnet_id
  private_subnet_ids = var.networks[each.key].private_subnet_ids
  route_table_ids    = var.networks[each.key].route_table_ids

  mode             = each.value.mode
  elastic_ip       = each.value.elastic_ip
  additional_cidrs = each.value.additional_cidrs
  port_forwards    = each.value.port_forwards
  tags             = { Environment = each.key }
}

output "nats" {
  description = "Per NAT: the instance, its egress address and the interface the route tables target."
  value = {
    for name, nat in module.nat : name => {
      instance_id             = nat.instance_id
      public_ip               = nat.public_ip
      forwarding_interface_id = nat.forwarding_interface_id
      security_group_id       = nat.security_group_id
    }
  }
}
