# Two private subnets in two availability zones with one route table per zone, served by a
# dual-interface NAT instance: its forwarding interface sits in the first private subnet (the
# public subnet's zone) and the route tables target it; an Elastic IP keeps the egress address.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "eu-central-1"
}

locals {
  # Zone suffix → private subnet CIDR; subnet "a" shares the public subnet's zone.
  private_subnets = {
    a = "10.8.1.0/24"
    b = "10.8.2.0/24"
  }
}

resource "aws_vpc" "main" {
  cidr_block           = "10.8.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "nat-dual" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id
}

resource "aws_subnet" "public" {
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "10.8.0.0/24"
  availability_zone       = "${var.region}a"
  map_public_ip_on_launch = true
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.main.id
  }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

resource "aws_subnet" "private" {
  for_each          = local.private_subnets
  vpc_id            = aws_vpc.main.id
  cidr_block        = each.value
  availability_zone = "${var.region}${each.key}"
}

# One table per zone; the module adds their 0.0.0.0/0 routes.
resource "aws_route_table" "private" {
  for_each = local.private_subnets
  vpc_id   = aws_vpc.main.id
}

resource "aws_route_table_association" "private" {
  for_each       = local.private_subnets
  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

module "nat" {
  # From a release: "git::https://github.com/your-github-org/cdktf-nat-instance.git//terraform/modules/nat-instance?ref=v0.1.0"
  source = "../.."

  name               = "nat-dual"
  mode               = "dual"
  elastic_ip         = true
  vpc_id             = aws_vpc.main.id
  public_subnet_id   = aws_subnet.public.id
  private_subnet_ids = [aws_subnet.private["a"].id, aws_subnet.private["b"].id] # the first holds the forwarding interface
  route_table_ids    = [for zone in keys(local.private_subnets) : aws_route_table.private[zone].id]
  tags               = { Team = "platform" }

  depends_on = [aws_route_table_association.public]
}

output "nat_public_ip" {
  description = "The Elastic IP every private subnet's traffic leaves with."
  value       = module.nat.public_ip
}

output "forwarding_interface_id" {
  value = module.nat.forwarding_interface_id
}
