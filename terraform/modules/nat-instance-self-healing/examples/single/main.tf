# One private subnet behind a self-healing NAT instance: an Auto Scaling group of one that
# replaces a failed instance, whose replacement takes over the Elastic IP and the route table at
# boot. It launches t4g.nano, or t4g.micro when t4g.nano has no capacity. The VPC is built here
# so that the example is complete; `terraform apply` creates it in var.region.

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

resource "aws_vpc" "main" {
  cidr_block           = "10.8.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = "nat-self-healing" }
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
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.8.1.0/24"
  availability_zone = "${var.region}a"
}

# No 0.0.0.0/0 route here, and no inline route blocks (they would make Terraform remove the
# route): each NAT instance points 0.0.0.0/0 at itself when it boots.
resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
}

resource "aws_route_table_association" "private" {
  subnet_id      = aws_subnet.private.id
  route_table_id = aws_route_table.private.id
}

module "nat" {
  # From a release: "git::https://github.com/your-github-org/cdktf-nat-instance.git//terraform/modules/nat-instance-self-healing?ref=v0.1.0"
  source = "../.."

  name                    = "nat-self-healing"
  vpc_id                  = aws_vpc.main.id
  public_subnet_id        = aws_subnet.public.id
  private_subnet_ids      = [aws_subnet.private.id]
  route_table_ids         = [aws_route_table.private.id]
  fallback_instance_types = ["t4g.micro"]

  # The instance reaches the EC2 API through the internet gateway before it holds its Elastic IP.
  depends_on = [aws_route_table_association.public]
}

output "nat_public_ip" {
  value = module.nat.public_ip
}

output "nat_autoscaling_group_name" {
  value = module.nat.autoscaling_group_name
}
